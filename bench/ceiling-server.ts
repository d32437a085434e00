// The ceiling: a bare Fastify route sending a pre-serialized 8 KB JSON body. Nothing the catalog does
// per request can be faster than this on the same machine.
import Fastify from 'fastify';

const item = { id: 1, slug: 'some-product-slug-12345678', name: 'Some product name of usual length', price: { min: 37900, max: 37900, currency: 'INR' } };
const body = Buffer.from(JSON.stringify({ items: Array.from({ length: 80 }, (_, i) => ({ ...item, id: i })) }).slice(0, 8192 - 2) + '"}');
const app = Fastify({ logger: false });
app.get('/ceiling', (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
app.get('/health/ready', async () => ({ status: 'ready' }));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
