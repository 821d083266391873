// Starts GraphiQL on this server's endpoints. Everything it loads comes from
// this server (/graphiql/...), so it works offline and behind a proxy.
(function () {
  var http = new URL('/graphql', window.location.origin).toString();
  var ws = new URL('/graphql/ws', window.location.origin);
  ws.protocol = ws.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({ url: http, subscriptionUrl: ws.toString() });
  ReactDOM.createRoot(document.getElementById('graphiql')).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      // Sign in with the `login` mutation (no header needed), then paste its accessToken here.
      defaultHeaders: '{\n  "Authorization": "Bearer <accessToken>"\n}',
      defaultQuery:
        '# Sign in (the demo password is printed by `rapport seed-demo`):\n' +
        '# mutation { login(email: "admin@rapport.demo", password: "...") { accessToken } }\n' +
        '# then put the accessToken in the Authorization header below and run:\n' +
        '{ viewer { name role } }\n',
    })
  );
})();
