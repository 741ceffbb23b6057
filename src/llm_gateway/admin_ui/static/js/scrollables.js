// Tables too wide for the screen scroll sideways inside their .table-wrap. A keyboard can only
// scroll what it can focus, so a wrap that scrolls becomes a named, focusable group (the arrow
// keys then scroll it); one that fits is left out of the Tab order.

function nameOf(wrap) {
  const caption = wrap.querySelector("caption");
  const card = wrap.closest("section[aria-label]");
  const title = (caption && caption.textContent.trim()) || (card && card.getAttribute("aria-label")) || "Table";
  return `${title} (scrolls sideways)`;
}

function mark(root) {
  for (const wrap of root.querySelectorAll(".table-wrap")) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    if (scrolls && !wrap.hasAttribute("tabindex")) {
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "group");
      wrap.setAttribute("aria-label", nameOf(wrap));
    } else if (!scrolls && wrap.hasAttribute("tabindex")) {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
    }
  }
}

// Keep the marks right as pages draw and redraw, and as the window changes width.
export function watchScrollables(root) {
  let queued = false;
  const later = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      mark(root);
    });
  };
  new MutationObserver(later).observe(root, { childList: true, subtree: true });
  window.addEventListener("resize", later);
}
