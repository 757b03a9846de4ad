// Checks the settings and the routes file when the app starts, so a broken configuration stops the
// app with a message naming the setting, route and field — not at the first event.
import { app } from '@azure/functions';
import { appRoutes, appSettings } from '../src/config/runtimeConfig';

app.hook.appStart((context) => {
  appSettings();
  const routes = appRoutes();
  context.hookData.routes = routes.routes.map((r) => r.name);
});
