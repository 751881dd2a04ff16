// Jest setup modelled on @grafana/create-plugin's.

import '@testing-library/jest-dom';
import { TextEncoder, TextDecoder } from 'util';
import { ReadableStream, TransformStream, WritableStream } from 'stream/web';

// jsdom lacks MessageChannel, which React 19's server renderer (imported by @grafana/ui) uses at load time.
// Node's own would keep Jest's process alive; this one delivers messages on a timer and holds nothing open.
class TimerMessagePort {
  constructor() {
    this.onmessage = null;
    this.other = null;
  }
  postMessage(data) {
    setTimeout(() => this.other && this.other.onmessage && this.other.onmessage({ data }), 0);
  }
  start() {}
  close() {}
  addEventListener(type, fn) {
    if (type === 'message') {
      this.onmessage = fn;
    }
  }
  removeEventListener() {}
}
class TimerMessageChannel {
  constructor() {
    this.port1 = new TimerMessagePort();
    this.port2 = new TimerMessagePort();
    this.port1.other = this.port2;
    this.port2.other = this.port1;
  }
}

Object.assign(global, { TextDecoder, TextEncoder, ReadableStream, TransformStream, WritableStream });
if (typeof global.MessageChannel === 'undefined') {
  global.MessageChannel = TimerMessageChannel;
}

// https://jestjs.io/docs/manual-mocks#mocking-methods-which-are-not-implemented-in-jsdom
Object.defineProperty(global, 'matchMedia', {
  writable: true,
  value: (query) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: jest.fn(), // deprecated
    removeListener: jest.fn(), // deprecated
    addEventListener: jest.fn(),
    removeEventListener: jest.fn(),
    dispatchEvent: jest.fn(),
  }),
});

// jsdom has no IntersectionObserver (used by @grafana/ui's virtualised option lists).
if (typeof global.IntersectionObserver === 'undefined') {
  global.IntersectionObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  };
}

// jsdom has no canvas; @grafana/ui measures text (Combobox widths) through a 2d context.
HTMLCanvasElement.prototype.getContext = () => ({
  font: '',
  measureText: (text) => ({ width: String(text).length * 7, actualBoundingBoxAscent: 10, actualBoundingBoxDescent: 3 }),
});
