// Drawing a routine's diagram on a page, shared by the case page (case.js) and the quality heat map
// (quality.js): the vendored bpmn-js viewer (global BpmnJS) draws the BPMN fetched from #diagram's
// data-src, fitted to its box (or, with data-readable, at a readable scale around the first of data-focus's
// elements: viewport.js, whose zoom buttons data-controls names); then the page's own
// `decorate(viewer, box)` marks what it wants. When it
// is drawn, #diagram gets data-rendered="true" and the no-script note (#diagram-fallback) hides; when it
// cannot be, the note says so (data-error). Without script the page works and says the diagram needs it.
window.elevflowDiagram = function (decorate) {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS || !window.fetch) {
    return;
  }
  var viewer = new window.BpmnJS({ container: box });
  box.elevflowViewer = viewer;  // for the browser tests, which read its zoom
  var fallback = document.getElementById("diagram-fallback");
  window.fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) {
      if (!response.ok) {
        throw new Error("diagram " + response.status);
      }
      return response.text();
    })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      var focus = (box.getAttribute("data-focus") || "").split(" ").map(function (id) {
        return id && registry.get(id);
      }).filter(function (element) { return element; })[0];
      var place = function () {
        if (box.hasAttribute("data-readable") && window.elevflowPlace) {
          window.elevflowPlace(canvas, { minScale: 0.85, focus: focus });
        } else {
          canvas.zoom("fit-viewport");
        }
      };
      place();
      if (window.elevflowZoomButtons) {
        window.elevflowZoomButtons(canvas, document.getElementById(box.getAttribute("data-controls")), place);
      }
      decorate(viewer, box);
      if (fallback) {
        fallback.hidden = true;
      }
      box.setAttribute("data-rendered", "true");
    })
    .catch(function (error) {
      if (window.console) {
        window.console.error(error);
      }
      if (fallback) {
        fallback.textContent = box.getAttribute("data-error") || fallback.textContent;
      }
    });
};
