// Settings and routes as the activities and triggers see them: loaded once per process on first use
// (not at import, so cold start stays small), with the same clear errors as at startup.
import { findProjectRoot } from './projectRoot';
import { loadSettings, Settings } from './settings';
import { loadRoutes, RoutesFile } from './routes';

let settings: Settings | undefined;
let routes: RoutesFile | undefined;

/** The app root: where host.json is (the routes path is relative to it). */
export function appRoot(): string {
  return findProjectRoot(__dirname);
}

export function appSettings(): Settings {
  settings ??= loadSettings(process.env);
  return settings;
}

export function appRoutes(): RoutesFile {
  routes ??= loadRoutes(appSettings().routesPath, appRoot(), process.env);
  return routes;
}

/** Forget cached configuration (tests). */
export function resetRuntimeConfig(): void {
  settings = undefined;
  routes = undefined;
}
