// Progressive enhancement only: every page works as plain HTML forms and links.
document.addEventListener("htmx:responseError", (event) => {
  const flashes = document.getElementById("flashes");
  if (!flashes) return;
  const p = document.createElement("p");
  p.className = "flash flash-error";
  p.setAttribute("role", "alert");
  const status = event.detail.xhr.status;
  p.textContent = status === 400
    ? "Your page expired. Reload it and try again."
    : `The server answered ${status}. Please try again.`;
  flashes.replaceChildren(p);
});
document.addEventListener("htmx:sendError", () => {
  const flashes = document.getElementById("flashes");
  if (flashes) {
    const p = document.createElement("p");
    p.className = "flash flash-error";
    p.textContent = "Could not reach the server. Check your connection and try again.";
    flashes.replaceChildren(p);
  }
});
