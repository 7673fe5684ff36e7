// The API reference: Swagger UI over /openapi.yaml (a file, so the page needs no inline script).
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({ url: "/openapi.yaml", dom_id: "#reference", deepLinking: true });
});
