// The operator dashboard's page and assets (src/operator/dashboard). Anonymous on purpose: the page
// holds no data; it asks for the function key and calls the key-protected operator API with it.
import { app } from '@azure/functions';
import type * as DashboardAssets from '../src/operator/dashboard/dashboardAssets';

// The page's script and styles are loaded by the first request, not at startup.
const load = (): typeof DashboardAssets => require('../src/operator/dashboard/dashboardAssets') as typeof DashboardAssets;

app.http('opsDashboard', { authLevel: 'anonymous', methods: ['GET', 'HEAD'], route: 'ops/dashboard/{*asset}', handler: async (request) => load().serveDashboard(request) });
