import { CircuitBreakers } from './circuit-breaker';

describe('CircuitBreakers', () => {
  it('opens after the threshold, lets one trial through after the cooldown, and closes on success', () => {
    let now = 0;
    const changes: string[] = [];
    const b = new CircuitBreakers(2, 1000, () => now, (name, state) => changes.push(`${name} ${state}`));
    expect(b.failure('x')).toBe(false);
    expect(b.state('x')).toBe('closed');
    expect(b.failure('x')).toBe(true);
    expect(b.state('x')).toBe('open');
    expect(b.tryAcquire('x')).toBe(false);
    expect(b.retryAt('x')?.getTime()).toBe(1000);
    now = 1000;
    expect(b.state('x')).toBe('half-open');
    expect(b.tryAcquire('x')).toBe(true);
    expect(b.tryAcquire('x')).toBe(false);
    expect(b.success('x')).toBe(true);
    expect(b.state('x')).toBe('closed');
    expect(b.tryAcquire('other')).toBe(true);
    expect(changes).toEqual(['x open', 'x closed']);
  });

  it('re-opens at once when the trial fails', () => {
    let now = 0;
    const b = new CircuitBreakers(1, 500, () => now);
    b.failure('x');
    now = 600;
    expect(b.tryAcquire('x')).toBe(true);
    b.failure('x');
    expect(b.state('x')).toBe('open');
    expect(b.retryAt('x')?.getTime()).toBe(1100);
  });
});
