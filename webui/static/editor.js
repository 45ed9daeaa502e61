// The routine editor page: the bpmn-js Modeler with its properties panel (vendor/elevflow-modeler), the
// draft loaded from and saved to the server, and the server's check shown on the diagram: each element a
// problem names gets a red marker and a numbered badge, and the list below the toolbar selects it.
// Publishing saves first, then checks, and only then submits the page's ordinary publish form. The diagram
// opens clear of the palette at a readable scale (viewport.js).
(function () {
  "use strict";
  var box = document.getElementById("editor");
  if (!box || !window.ElevflowModeler || !window.fetch) {
    return;
  }
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var statusLine = document.getElementById("editor-status");
  var problemBox = document.getElementById("problems");
  var problemList = document.getElementById("problem-list");
  var canvasBox = document.getElementById("canvas");
  var config = JSON.parse(box.getAttribute("data-config") || "{}");
  var rowVersion = parseInt(box.getAttribute("data-row-version"), 10);
  var dirty = false;
  var marked = [];
  var modeler = window.ElevflowModeler.create(canvasBox, document.getElementById("properties"), config);
  canvasBox.elevflowModeler = modeler;  // for the browser tests, which build diagrams through its API

  function say(text) {
    statusLine.textContent = text;
  }

  function post(url, body) {
    return window.fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token, "Accept": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    });
  }

  function clearProblems() {
    var canvas = modeler.get("canvas");
    marked.forEach(function (id) {
      canvas.removeMarker(id, "elevflow-problem");
    });
    marked = [];
    modeler.get("overlays").remove({ type: "elevflow-problem" });
    problemList.textContent = "";
    problemBox.hidden = true;
  }

  function showProblems(heading, problems) {
    clearProblems();
    var registry = modeler.get("elementRegistry");
    var canvas = modeler.get("canvas");
    var overlays = modeler.get("overlays");
    document.getElementById("problems-heading").textContent = heading;
    problems.forEach(function (problem, index) {
      var item = document.createElement("li");
      item.className = "problem";
      var line = problem.line ? box.getAttribute("data-line").replace("%(line)s", String(problem.line)) : "";
      var where = [problem.file, line, problem.element_id || ""]
        .filter(function (part) { return part; }).join(", ");
      item.appendChild(document.createTextNode((index + 1) + ". " + (where ? where + ": " : "") + problem.message));
      var here = !problem.file || problem.file === box.getAttribute("data-file");
      var element = here && problem.element_id && registry.get(problem.element_id);
      if (element) {
        item.setAttribute("data-element", problem.element_id);
        if (marked.indexOf(problem.element_id) < 0) {
          canvas.addMarker(problem.element_id, "elevflow-problem");
          marked.push(problem.element_id);
        }
        var badge = document.createElement("span");
        badge.className = "problem-badge";
        badge.textContent = String(index + 1);
        badge.title = problem.message;
        overlays.add(problem.element_id, "elevflow-problem", { position: { top: -10, right: 10 }, html: badge });
        var show = document.createElement("button");
        show.type = "button";
        show.className = "link-button";
        show.textContent = box.getAttribute("data-show");
        show.addEventListener("click", function () {
          modeler.get("selection").select(element);
          canvas.scrollToElement(element);
        });
        item.appendChild(document.createTextNode(" "));
        item.appendChild(show);
      }
      problemList.appendChild(item);
    });
    problemBox.hidden = false;
  }

  function save() {
    if (!dirty) {
      return Promise.resolve(true);
    }
    say(box.getAttribute("data-saving"));
    return modeler.saveXML({ format: true }).then(function (result) {
      return post(box.getAttribute("data-save"),
        { bpmn: result.xml, seen: rowVersion, file: box.getAttribute("data-file") });
    }).then(function (answer) {
      if (!answer.ok) {
        say(answer.data.error || box.getAttribute("data-failed"));
        if (answer.data.problems) {
          showProblems(answer.data.error, answer.data.problems);
        }
        return false;
      }
      rowVersion = answer.data.row_version;
      document.getElementById("publish-row-version").value = String(rowVersion);
      document.getElementById("discard-row-version").value = String(rowVersion);
      box.setAttribute("data-row-version", String(rowVersion));
      dirty = false;
      say(answer.data.message);
      return true;
    });
  }

  function check() {
    return save().then(function (saved) {
      if (!saved) {
        return false;
      }
      say(box.getAttribute("data-checking"));
      return post(box.getAttribute("data-check")).then(function (answer) {
        say(answer.data.heading);
        if (answer.data.runnable) {
          clearProblems();
        } else {
          showProblems(answer.data.heading, answer.data.problems);
        }
        box.setAttribute("data-checked", answer.data.runnable ? "runnable" : "problems");
        return answer.data.runnable;
      });
    }).catch(function () {
      say(box.getAttribute("data-failed"));
      return false;
    });
  }

  window.fetch(box.getAttribute("data-xml"), { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (xml) { return modeler.importXML(xml); })
    .then(function () {
      var palette = canvasBox.querySelector(".djs-palette");
      var place = function () {
        window.elevflowPlace(modeler.get("canvas"), { minScale: 0.6, left: palette
          ? palette.getBoundingClientRect().right - canvasBox.getBoundingClientRect().left : 0 });
      };
      place();
      window.elevflowZoomButtons(modeler.get("canvas"), document.getElementById("editor-zoom"), place);
      modeler.on("commandStack.changed", function () {
        dirty = true;
        say(box.getAttribute("data-unsaved"));
      });
      document.getElementById("editor-fallback").hidden = true;
      box.setAttribute("data-ready", "true");
    })
    .catch(function (error) {
      say(box.getAttribute("data-failed") + " " + error.message);
    });

  document.getElementById("save-draft").addEventListener("click", function () {
    save().catch(function () { say(box.getAttribute("data-failed")); });
  });
  document.getElementById("check-draft").addEventListener("click", check);
  var publishForm = document.getElementById("publish-form");
  publishForm.addEventListener("submit", function (event) {
    if (publishForm.getAttribute("data-checked") === "yes") {
      return;  // checked and saved just now: let the form go
    }
    event.preventDefault();
    if (!publishForm.reportValidity()) {
      return;
    }
    check().then(function (runnable) {
      if (runnable) {
        publishForm.setAttribute("data-checked", "yes");
        publishForm.requestSubmit ? publishForm.requestSubmit() : publishForm.submit();
      }
    });
  });
})();
