/*
 * The site-wide light/dark theme. Loaded in <head> (no inline script, so a strict CSP allows it)
 * before the body paints: the stored choice, else the operating system's, goes on <html
 * data-theme>, which weir.css and the islands read. A [data-theme-toggle] button flips and
 * remembers it; a "weir:theme" event tells islands (the editor's canvas) to follow.
 */
(function () {
  "use strict";
  var KEY = "weir.theme";
  var root = document.documentElement;
  var media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function stored() {
    try {
      var v = localStorage.getItem(KEY);
      return v === "dark" || v === "light" ? v : null;
    } catch (e) {
      return null;
    }
  }

  function apply(theme) {
    root.dataset.theme = theme;
    var buttons = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
      buttons[i].title = theme === "dark" ? "Switch to the light theme" : "Switch to the dark theme";
    }
    window.dispatchEvent(new CustomEvent("weir:theme", { detail: theme }));
  }

  apply(stored() || (media && media.matches ? "dark" : "light"));
  if (media && media.addEventListener) {
    media.addEventListener("change", function (e) {
      if (!stored()) apply(e.matches ? "dark" : "light");
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    apply(root.dataset.theme || "light");
    document.addEventListener("click", function (e) {
      var button = e.target instanceof Element ? e.target.closest("[data-theme-toggle]") : null;
      if (!button) return;
      var next = root.dataset.theme === "dark" ? "light" : "dark";
      try {
        localStorage.setItem(KEY, next);
      } catch (err) {
        /* private mode: the choice lasts for this page only */
      }
      apply(next);
    });
  });
})();
