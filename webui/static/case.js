// The case page's diagram: draw the routine's BPMN with the vendored bpmn-js viewer (global BpmnJS) and
// mark the steps the case has passed and those it waits on now. The ids come from the page as data
// attributes; the diagram from the case's own address. Without script the page says so and works anyway.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS || !window.fetch) {
    return;
  }
  function ids(name) {
    return (box.getAttribute(name) || "").split(" ").filter(function (id) { return id; });
  }
  var viewer = new window.BpmnJS({ container: box });
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
      canvas.zoom("fit-viewport");
      [["data-completed", "elevflow-completed"], ["data-current", "elevflow-current"]].forEach(function (pair) {
        ids(pair[0]).forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, pair[1]);
          }
        });
      });
      var fallback = document.getElementById("diagram-fallback");
      if (fallback) {
        fallback.hidden = true;
      }
      box.setAttribute("data-rendered", "true");
    })
    .catch(function () {
      var fallback = document.getElementById("diagram-fallback");
      if (fallback) {
        fallback.textContent = box.getAttribute("data-error") || fallback.textContent;
      }
    });
})();
