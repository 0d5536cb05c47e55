import { localRequestRefusal } from './local-origin';

test('programs and loopback pages may call a local gateway', () => {
  expect(localRequestRefusal({ host: '127.0.0.1:8080' })).toBeUndefined();
  expect(localRequestRefusal({ host: 'localhost:8080', origin: 'http://localhost:3000' })).toBeUndefined();
  expect(localRequestRefusal({ host: '[::1]:8080', origin: 'http://127.0.0.1:5173' })).toBeUndefined();
});

test('pages of other sites, opaque origins and DNS-rebound host names are refused with the reason', () => {
  expect(localRequestRefusal({ host: '127.0.0.1:8080', origin: 'https://evil.example' })).toMatch(/Origin "https:\/\/evil.example"/);
  expect(localRequestRefusal({ host: '127.0.0.1:8080', origin: 'null' })).toMatch(/Origin "null"/);
  expect(localRequestRefusal({ host: 'evil.example:8080' })).toMatch(/not to "evil.example:8080"/);
  expect(localRequestRefusal({ host: '127.0.0.1.evil.example' })).toMatch(/127\.0\.0\.1 or localhost only/);
});
