import { describe, expect, it } from 'vitest';
import { createHotUrls, type HotUrl } from '../../src/api/hot-urls.ts';

const load: HotUrl['load'] = () => Promise.resolve({ status: 200, body: Buffer.from('{}') });

describe('when a URL answered before is answered again', () => {
  it('then it is remembered with the tags of its latest answer (a related list whose product moved has new ones)', () => {
    const urls = createHotUrls(1024 * 1024);
    const url = '/products/7/related?limit=4';
    const route = '/products/:idOrSlug/related';
    urls.remember(url, { key: 'related:7:4', tags: ['product:7', 'related-category:10', 'related-brand:3'], route, load });
    const first = urls.get(url);
    urls.remember(url, { key: 'related:7:4', tags: ['product:7', 'related-category:10', 'related-brand:3'], route, load });
    expect(urls.get(url)).toBe(first);
    urls.remember(url, { key: 'related:7:4', tags: ['product:7', 'related-category:20', 'related-brand:3'], route, load });
    expect(urls.get(url)?.tags).toEqual(['product:7', 'related-category:20', 'related-brand:3']);
  });
});
