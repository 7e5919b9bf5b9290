// Writes the JWT seeds of fuzz/corpus/jwt_fuzz: tokens signed by jsonwebtoken (the library
// integration layers use) with the secret and clock jwt_fuzz.cpp checks against, so the fuzzer
// starts from tokens that pass every check and mutates towards each refusal.
// Run from the repo root: node fuzz/make-seeds.mjs (needs tests/node_modules).
import {createRequire} from 'node:module';
import {mkdirSync, writeFileSync} from 'node:fs';

const require = createRequire(new URL('../tests/package.json', import.meta.url));
const jwt = require('jsonwebtoken');

const secret = 'fuzz-secret-fuzz-secret-fuzz-secret-123';
const now = 1764000000;  // jwt_fuzz.cpp's clock, in seconds
const dir = new URL('./corpus/jwt_fuzz/', import.meta.url);
mkdirSync(dir, {recursive: true});

const seeds = {
  'valid': jwt.sign({iss: 'conn-1', iat: now}, secret, {algorithm: 'HS256'}),
  'valid-exp-nbf': jwt.sign({iss: 'conn-2', iat: now - 10, exp: now + 60, nbf: now - 5}, secret,
                            {algorithm: 'HS256'}),
  'disabled': jwt.sign({iss: 'xdisabled', iat: now}, secret, {algorithm: 'HS256'}),
  'expired': jwt.sign({iss: 'conn-1', iat: now - 301}, secret, {algorithm: 'HS256'}),
  'future': jwt.sign({iss: 'conn-1', iat: now + 31}, secret, {algorithm: 'HS256'}),
  'wrong-secret': jwt.sign({iss: 'conn-1', iat: now}, 'another-secret', {algorithm: 'HS256'}),
  'hs512': jwt.sign({iss: 'conn-1', iat: now}, secret, {algorithm: 'HS512'}),
  'unicode-iss': jwt.sign({iss: 'conn-ü-😀', iat: now, sub: 'عميل'}, secret, {algorithm: 'HS256'}),
  'float-iat': jwt.sign({iss: 'conn-1', iat: now + 0.5}, secret, {algorithm: 'HS256'}),
  'alg-none': jwt.sign({iss: 'conn-1', iat: now}, null, {algorithm: 'none'}),
};
for (const [name, token] of Object.entries(seeds)) {
  writeFileSync(new URL(name, dir), `Bearer ${token}`);
}
writeFileSync(new URL('lower-bearer', dir), `bearer ${seeds.valid}`);
writeFileSync(new URL('two-parts', dir), `Bearer ${seeds.valid.split('.').slice(0, 2).join('.')}`);
writeFileSync(new URL('basic', dir), 'Basic dXNlcjpwYXNz');
