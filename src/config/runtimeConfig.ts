// Settings and routes as the activities and triggers see them: loaded once per process on first use
// (the app checks both when it starts, see functions/appStartup.ts). The modules that check them (zod,
// yaml and the schemas) are required on that first use too, not when this module is imported: nearly
// every entry file imports this one, and loading the checks with it would lengthen cold start.
import { findProjectRoot } from './projectRoot';
import type { Settings } from './settings';
import type { RoutesFile } from './routes';

let settings: Settings | undefined;
let routes: RoutesFile | undefined;

/** The app root: where host.json is (the routes path is relative to it). */
export function appRoot(): string {
  return findProjectRoot(__dirname);
}

export function appSettings(): Settings {
  if (!settings) {
    const { loadSettings } = require('./settings') as typeof import('./settings');
    settings = loadSettings(process.env);
  }
  return settings;
}

export function appRoutes(): RoutesFile {
  if (!routes) {
    const { loadRoutes } = require('./routes') as typeof import('./routes');
    routes = loadRoutes(appSettings().routesPath, appRoot(), process.env);
  }
  return routes;
}

/** Forget cached configuration (tests). */
export function resetRuntimeConfig(): void {
  settings = undefined;
  routes = undefined;
}
