import { GatewayError } from '../../src/reports/errors';
import { forbiddenInstance } from '../../src/server/auth/forbidden';
import { ANONYMOUS, createPrincipal } from '../../src/server/auth/principal';

describe('forbiddenInstance', () => {
  it('is FORBIDDEN, naming the instance', () => {
    const error = forbiddenInstance('ccc-test');
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toBe('not allowed to read call center instance ccc-test');
    expect(error.details).toEqual({});
  });

  it('says the same for an existing and an unknown instance: nothing to enumerate', () => {
    const existing = forbiddenInstance('ccc-test');
    const unknown = forbiddenInstance('ccc-nobody-has-this');
    expect(unknown.message.replace('ccc-nobody-has-this', 'ccc-test')).toBe(existing.message);
    expect(unknown.code).toBe(existing.code);
    expect(unknown.details).toEqual(existing.details);
  });

  it('does not echo a huge id in full', () => {
    const error = forbiddenInstance('x'.repeat(10_000));
    expect(error.message.length).toBeLessThan(120);
    expect(error.message.endsWith('…')).toBe(true);
  });
});

describe('principals', () => {
  it('anonymous reads everything', () => {
    expect(ANONYMOUS).toMatchObject({ subject: 'anonymous', instances: '*' });
    expect(ANONYMOUS.canRead('ccc-anything')).toBe(true);
  });

  it('cannot be widened after the fact', () => {
    const principal = createPrincipal('svc', new Set(['ccc-a']));
    expect(() => {
      (principal as { instances: unknown }).instances = '*';
    }).toThrow(TypeError);
    expect(principal.canRead('ccc-b')).toBe(false);
  });
});
