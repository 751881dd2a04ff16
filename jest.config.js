// Force UTC so time formatting in tests does not depend on the machine's zone.
process.env.TZ = 'UTC';

module.exports = {
  ...require('./.config/jest.config'),
};
