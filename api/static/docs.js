// Swagger UI for /docs, from the installed swagger-ui-bundle package (no CDN, no inline script).
(function () {
  "use strict";
  const el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: el.dataset.openapiUrl, dom_id: "#swagger-ui" });
})();
