// Starts Swagger UI on the document the API serves. "Try it out" calls the server that
// serves this page, whatever host the document's `servers` names.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  requestInterceptor: (request) => {
    const target = new URL(request.url, window.location.href);
    if (target.pathname.startsWith("/api/")) {
      request.url = window.location.origin + target.pathname + target.search;
    }
    return request;
  },
});
