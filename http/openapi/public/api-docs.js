// Starts Swagger UI on the API description page. Loaded from our origin after swagger-ui-bundle.js (the page's CSP
// allows no inline script); the document URL comes from the page itself.
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute('data-spec-url'),
    domNode: root,
    deepLinking: true,
    // Signed calls need the app's secret key: the page documents them and never invites pasting a key into it.
    supportedSubmitMethods: [],
    // The default validator badge would ask an external service about our document.
    validatorUrl: null,
    defaultModelsExpandDepth: 0,
    docExpansion: 'list',
    tryItOutEnabled: false,
  });
})();
