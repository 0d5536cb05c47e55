export * from './broker';
export * from './wait';
export * from './logger';
export * from './processes';
export * from './fake-llm';
export * from './database';
export * from './stack';
export * from './ports';
