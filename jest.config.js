// Force UTC so time formatting in tests does not depend on the machine's zone.
process.env.TZ = 'UTC';

module.exports = {
  ...require('./.config/jest.config'),
  // Editor tests drive full @grafana/ui components in jsdom; on a busy 2-core machine one can take seconds.
  testTimeout: 60000,
};
