// Starts Swagger UI on the document the API serves. "Try it out" calls the server that
// serves this page, whatever host the document's `servers` names. The page asks no other host for
// anything: validatorUrl null turns off the validator badge, which would send the document's URL
// to validator.swagger.io whenever the page is not opened on a loopback address.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.yaml",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  validatorUrl: null,
  requestInterceptor: (request) => {
    const target = new URL(request.url, window.location.href);
    if (target.pathname.startsWith("/api/")) {
      request.url = window.location.origin + target.pathname + target.search;
    }
    return request;
  },
});
