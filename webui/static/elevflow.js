// Elevflow's own script (everything works without it). While someone writes in a form, tell the server
// now and then that they are still there: typing sends no request, and the session's idle timeout
// would otherwise end the session and lose what they wrote.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]');
  var url = document.body && document.body.getAttribute("data-keepalive");
  if (!token || !url || !window.fetch) {
    return;
  }
  var every = 5 * 60 * 1000;
  var last = Date.now();
  document.addEventListener("input", function () {
    if (Date.now() - last < every) {
      return;
    }
    last = Date.now();
    window.fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token.content } });
  });
})();

// Folded filters (details[data-open-wide]) open by themselves on a wide screen; on a phone they stay
// folded, so the first task is on the first screen.
(function () {
  "use strict";
  if (!window.matchMedia || !window.matchMedia("(min-width: 40.01rem)").matches) {
    return;
  }
  Array.prototype.forEach.call(document.querySelectorAll("details[data-open-wide]"), function (box) {
    box.open = true;
  });
})();

// A form with data-confirm (removing an attachment, say) asks before it is sent.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
