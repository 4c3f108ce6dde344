/* The slot picker (booking/_week.html), better with JavaScript: a day, a week or the clinician
   filter swaps the picker in place (the same page, fetched) instead of loading the whole page, keeps
   the address in step (so Back works and a link can be shared), and moves focus to what changed.
   Without this script, or when anything goes wrong, the links and the form load the page as usual. */
(function () {
  "use strict";
  var picker = document.getElementById("slot-picker");
  if (!picker || !window.fetch || !window.DOMParser || !window.URLSearchParams || !history.pushState) {
    return;
  }

  function focusOn(selector) {
    var target = picker.querySelector(selector);
    if (!target) { return; }
    if (!target.matches("a[href], button, input, select")) { target.setAttribute("tabindex", "-1"); }
    target.focus();
  }

  function show(url, focusSelector, remember) {
    picker.setAttribute("aria-busy", "true");
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        // A redirect means the page is not a week any more (logged out, booking closed): go there.
        if (!response.ok || response.redirected) { throw new Error("not the week page"); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("slot-picker");
        if (!fresh) { throw new Error("no slot picker in the page"); }
        picker.innerHTML = fresh.innerHTML;
        picker.removeAttribute("aria-busy");
        if (remember) { history.pushState({ slotPicker: true }, "", url); }
        focusOn(focusSelector);
      })
      .catch(function () {
        window.location.assign(url);
      });
  }

  function plainClick(event) {
    return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
  }

  picker.addEventListener("click", function (event) {
    var link = event.target.closest("a[href]");
    if (!link || !plainClick(event)) { return; }
    if (link.closest(".sp-strip")) {
      event.preventDefault();
      show(link.href.split("#")[0], ".sp-day h3", true);
    } else if (link.closest(".week-nav")) {
      event.preventDefault();
      show(link.href, ".week-nav h2", true);
    }
  });

  picker.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("filters") || (form.method || "get").toLowerCase() !== "get") { return; }
    event.preventDefault();
    var query = new URLSearchParams(new FormData(form)).toString();
    show(form.action.split("?")[0] + "?" + query, ".sp-strip [aria-current]", true);
  });

  window.addEventListener("popstate", function () {
    show(window.location.href, ".sp-day h3", false);
  });
}());
