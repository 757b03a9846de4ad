import { compileRoute, matchRoute, RouteTemplateError } from '../../src/host/httpRoutes';

describe('HTTP route templates', () => {
  it('matches literals case-insensitively and extracts parameters', () => {
    expect(matchRoute(compileRoute('ops/runs/{runId}'), 'OPS/runs/abc-1')).toEqual({ runId: 'abc-1' });
    expect(matchRoute(compileRoute('ops/runs/{runId}'), 'ops/runs')).toBeUndefined();
  });

  it('treats optional parameters and defaults as optional segments', () => {
    const r = compileRoute('items/{id?}');
    expect(matchRoute(r, 'items')).toEqual({});
    expect(matchRoute(r, 'items/7')).toEqual({ id: '7' });
    expect(matchRoute(compileRoute('page/{n=1}'), 'page')).toEqual({ n: '1' });
  });

  it('applies constraints', () => {
    const r = compileRoute('orders/{id:int}/{kind:alpha:maxlength(5)}');
    expect(matchRoute(r, 'orders/12/abc')).toEqual({ id: '12', kind: 'abc' });
    expect(matchRoute(r, 'orders/x/abc')).toBeUndefined();
    expect(matchRoute(r, 'orders/12/abcdef')).toBeUndefined();
    expect(matchRoute(compileRoute('r/{v:range(1,3)}'), 'r/4')).toBeUndefined();
    expect(matchRoute(compileRoute('g/{id:guid}'), 'g/0f8fad5b-d9cb-469f-a165-70867728950e')).toBeDefined();
  });

  it('captures the rest of the path with a catch-all and decodes escapes', () => {
    expect(matchRoute(compileRoute('blobs/{*path}'), 'blobs/a/b%20c.csv')).toEqual({ path: 'a/b c.csv' });
  });

  it('ranks literal routes above parameter routes', () => {
    expect(compileRoute('runs/pending').precedence).toBeGreaterThan(compileRoute('runs/{id}').precedence);
  });

  it('rejects malformed templates with a message naming the route', () => {
    expect(() => compileRoute('a/{*rest}/b')).toThrow(RouteTemplateError);
    expect(() => compileRoute('a/{x}/{x}')).toThrow(/uses the parameter 'x' twice/);
    expect(() => compileRoute('a/{bad name}')).toThrow(/invalid parameter/);
  });
});
