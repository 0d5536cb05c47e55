import { counter, gauge, histogram } from '@codeagent/telemetry';

/** The gateway's own Prometheus series (names `gateway_<subject>_<unit>`, few label values). */
export const gatewayMetrics = {
  requests: () => counter('gateway_http_requests_total', 'HTTP requests answered', ['route', 'method', 'status']),
  duration: () =>
    histogram('gateway_http_request_duration_seconds', 'Time to answer an HTTP request', ['route', 'method', 'status'], [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]),
  socketsConnected: () => gauge('gateway_sockets_connected', 'Socket.IO clients connected to this replica'),
  eventsDelivered: () => counter('gateway_events_delivered_total', 'Session events sent to sockets', ['type']),
  socketDrops: () => counter('gateway_socket_drops_total', 'Sockets cut off by the gateway', ['reason']),
  refusals: () => counter('gateway_auth_refusals_total', 'Requests refused by authentication or authorization', ['status']),
};
