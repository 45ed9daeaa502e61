// Where a drawn diagram starts (bpmn-js's "fit-viewport" alone shrinks a large routine until its labels
// cannot be read, and puts its left edge under the editor's palette). window.elevflowPlace(canvas, box,
// options) shows the whole diagram if it fits at a readable scale (options.minScale, at most 1:1), clear of
// `options.left` pixels on the left (the palette's width); a larger diagram is shown at that scale from
// its left edge, or around options.focus (an element, such as the step the case waits on).
window.elevflowPlace = function (canvas, options) {
  "use strict";
  options = options || {};
  var margin = 16;
  var left = (options.left || 0) + margin;
  canvas.zoom("fit-viewport");
  var box = canvas.viewbox();
  var inner = box.inner;
  var outer = box.outer;
  if (!inner.width || !inner.height || !outer.width || !outer.height) {
    return;
  }
  var fits = Math.min((outer.width - left - margin) / inner.width, (outer.height - 2 * margin) / inner.height);
  var scale = Math.max(Math.min(fits, options.maxScale || 1), options.minScale || 0);
  var width = outer.width / scale;
  var height = outer.height / scale;
  var x = inner.x - left / scale;
  var y = inner.y - margin / scale;
  if (fits < scale) {
    var focus = options.focus;
    if (focus && focus.x + focus.width > x + width) {
      x = Math.max(x, focus.x + focus.width / 2 - (width + left / scale) / 2);
    }
    if (inner.height * scale > outer.height - 2 * margin) {
      y = focus ? Math.max(y, focus.y + focus.height / 2 - height / 2) : y;
    } else {
      y = inner.y - (height - inner.height) / 2;
    }
  }
  canvas.viewbox({ x: x, y: y, width: width, height: height });
};

// The zoom buttons of a diagram (a .diagram-controls beside it): zoom in and out around the middle, and
// show the whole diagram. They are shown once the diagram is drawn.
window.elevflowZoomButtons = function (canvas, controls, place) {
  "use strict";
  if (!controls) {
    return;
  }
  function zoomBy(factor) {
    var now = canvas.viewbox();
    canvas.zoom(Math.min(Math.max(now.scale * factor, 0.2), 4), {
      x: now.outer.width / 2, y: now.outer.height / 2 });
  }
  var actions = {
    "zoom-in": function () { zoomBy(1.25); },
    "zoom-out": function () { zoomBy(0.8); },
    "zoom-fit": function () { canvas.zoom("fit-viewport"); },
    "zoom-reset": place
  };
  Array.prototype.forEach.call(controls.querySelectorAll("button[data-zoom]"), function (button) {
    button.addEventListener("click", function () {
      var action = actions[button.getAttribute("data-zoom")];
      if (action) {
        action();
      }
    });
  });
  controls.hidden = false;
};
