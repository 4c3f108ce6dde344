/* Feedback while a form is sent: its buttons say "Working…" and are disabled, so a second click (or a
   second Enter) cannot send it twice, and a screen reader hears that the page is working. Without
   this script every form works as before; the booking service also books a repeated form once.
   A form may opt out with data-no-working (for one whose answer is not a new page). */
(function () {
  "use strict";
  var WORKING = "Working…";
  var status = null;

  function announce(text) {
    if (!status) {
      status = document.createElement("div");
      status.className = "working-status";
      status.setAttribute("role", "status");
      document.body.appendChild(status);
    }
    status.textContent = text;
  }

  function buttonsOf(form) {
    return form.querySelectorAll("button:not([type]), button[type=submit], input[type=submit]");
  }

  function showWorking(form, submitter) {
    form.setAttribute("data-working", "");
    form.setAttribute("aria-busy", "true");
    Array.prototype.forEach.call(buttonsOf(form), function (button) {
      button.disabled = true;
      if (button !== submitter) { return; }
      var isInput = button.tagName === "INPUT";
      button.setAttribute("data-label", isInput ? button.value : button.innerHTML);
      if (isInput) { button.value = WORKING; } else { button.textContent = WORKING; }
    });
    announce("Working, please wait…");
  }

  function reset(form) {
    form.removeAttribute("data-working");
    form.removeAttribute("aria-busy");
    Array.prototype.forEach.call(buttonsOf(form), function (button) {
      button.disabled = false;
      var label = button.getAttribute("data-label");
      if (label === null) { return; }
      if (button.tagName === "INPUT") { button.value = label; } else { button.innerHTML = label; }
      button.removeAttribute("data-label");
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.hasAttribute("data-no-working")) { return; }
    if (form.hasAttribute("data-working")) {  // already on its way: a second click or Enter does nothing
      event.preventDefault();
      return;
    }
    var submitter = event.submitter || buttonsOf(form)[0] || null;
    // After the browser has read the form (a disabled button would not send its name and value), and
    // only when no other script took the submission over (the slot picker fetches its own pages).
    window.setTimeout(function () {
      if (event.defaultPrevented) { return; }
      showWorking(form, submitter);
      // Should the answer never come (a dropped connection), the form can be sent again.
      window.setTimeout(function () { reset(form); }, 20000);
    }, 0);
  });

  // Back to a page kept in the browser's memory: its forms are ready again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("form[data-working]"), reset);
  });
}());
