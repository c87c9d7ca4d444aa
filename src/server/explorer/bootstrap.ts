/**
 * The page's own script, served as the asset `explorer.js` (no inline script: the page's
 * Content-Security-Policy allows scripts from the gateway only). A string rather than a file so
 * that it ships inside `dist/` with the compiled code; plain ES2017, no build step.
 *
 * It reads the page's JSON configuration (example tabs with their variables computed by the
 * server at render time) and renders GraphiQL (UMD globals `React`, `ReactDOM`, `GraphiQL`) with a
 * fetcher to the GraphQL endpoint named there (HTTP for queries, WebSocket for subscriptions).
 *
 * Storage: GraphiQL keeps its tabs in localStorage and, on the next visit, prefers them over
 * `defaultTabs`, so the examples would keep the dates of the first visit forever. Tabs and editor
 * contents are therefore kept for the page's lifetime only; everything else (history of executed
 * operations, favourites, theme, pane sizes) persists, under this gateway's own key prefix.
 */
export const BOOTSTRAP_JS = String.raw`(function () {
  'use strict';
  var config = JSON.parse(document.getElementById('explorer-config').textContent);
  var PREFIX = 'ccc-report-gateway:explorer:';
  var PAGE_ONLY = /:(tabState|query|variables|headers|operationName)$/;
  var memory = new Map();
  var local = null;
  try {
    local = window.localStorage;
  } catch (e) {
    local = null; // disabled storage: keep everything in memory
  }
  function persisted(key) {
    return local !== null && !PAGE_ONLY.test(key);
  }
  function ownKeys() {
    var keys = [];
    if (local === null) return keys;
    for (var i = 0; i < local.length; i++) {
      var key = local.key(i);
      if (key !== null && key.indexOf(PREFIX) === 0) keys.push(key);
    }
    return keys;
  }
  var storage = {
    getItem: function (key) {
      if (persisted(key)) return local.getItem(PREFIX + key);
      return memory.has(key) ? memory.get(key) : null;
    },
    setItem: function (key, value) {
      if (persisted(key)) local.setItem(PREFIX + key, value);
      else memory.set(key, String(value));
    },
    removeItem: function (key) {
      if (persisted(key)) local.removeItem(PREFIX + key);
      else memory.delete(key);
    },
    clear: function () {
      memory.clear();
      ownKeys().forEach(function (key) { local.removeItem(key); });
    },
    get length() {
      return memory.size + ownKeys().length;
    },
  };

  // The endpoint relative to the page: the page is also served at /graphiql, and a proxy may
  // mount everything under a path prefix.
  var endpoint = new URL(config.endpoint, window.location.href);
  // Subscriptions go over WebSocket (graphql-ws, bundled in GraphiQL's build) to the same path;
  // GraphiQL hands the headers tab to connection_init, so an Authorization header works there too.
  // The page's CSP allows it: connect-src 'self' covers ws: and wss: of the page's own host.
  var socketUrl = (endpoint.protocol === 'https:' ? 'wss://' : 'ws://') + endpoint.host + endpoint.pathname;
  var fetcher = GraphiQL.createFetcher({ url: endpoint.pathname, subscriptionUrl: socketUrl });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultTabs: config.tabs,
      // GraphiQL 3.8 fills the first tab's query editor from defaultTabs but not its variables
      // editor (it only reads the variables prop or storage): hand it the same variables.
      variables: config.tabs.length > 0 ? config.tabs[0].variables : undefined,
      defaultEditorToolsVisibility: 'variables',
      shouldPersistHeaders: false,
      storage: storage,
    }),
  );
})();
`;
