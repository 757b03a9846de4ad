// The operator dashboard's page and assets (src/operator/dashboard). Anonymous on purpose: the page
// holds no data; it asks for the function key and calls the key-protected operator API with it.
import { app } from '@azure/functions';
import { serveDashboard } from '../src/operator/dashboard/dashboardAssets';

app.http('opsDashboard', { authLevel: 'anonymous', methods: ['GET', 'HEAD'], route: 'ops/dashboard/{*asset}', handler: async (request) => serveDashboard(request) });
