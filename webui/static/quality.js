// The process view's heat map: draw the routine's BPMN with the vendored bpmn-js viewer (global BpmnJS),
// colour each step by how long it takes (CSS classes elevflow-heat-0 … 4) and put its figures beside it
// as an overlay. The figures come from the page as JSON in data-figures, already aggregated and hidden
// where they must be; the same figures are in the table below, so the page works without script.
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box || !window.BpmnJS || !window.fetch) {
    return;
  }
  var figures = {};
  try {
    figures = JSON.parse(box.getAttribute("data-figures") || "{}");
  } catch (e) {
    figures = {};
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
      var overlays = viewer.get("overlays");
      canvas.zoom("fit-viewport");
      registry.filter(function (element) {
        return element.type === "bpmn:UserTask" || element.type === "bpmn:ManualTask";
      }).forEach(function (element) {
        var figure = figures[element.id];
        canvas.addMarker(element.id, "elevflow-heat-" + (figure ? figure.level : 0));
        if (!figure) {
          return;
        }
        var note = document.createElement("div");
        note.className = "heat-note";
        note.textContent = figure.text;
        overlays.add(element.id, "elevflow-heat", { position: { bottom: -4, left: 0 }, html: note });
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
