// Run by attach.ts as `nsenter --net=/proc/<jail>/ns/net node netns-listen.cjs` with an IPC channel:
// inside the jail's network namespace it opens the proxy's TCP listener (127.0.0.1:3128) and the
// DNS socket (127.0.0.1:53, a privileged port only the host side can bind), hands both to its parent
// and exits. The sockets stay in the jail's namespace; the parent serves them from outside.
'use strict';
const net = require('node:net');
const dgram = require('node:dgram');
const [proxyPort, dnsPort] = process.argv.slice(2).map(Number);
const fail = (err) => {
  process.send({ error: String(err && err.message ? err.message : err) }, () => process.exit(1));
};
const tcp = net.createServer({ pauseOnConnect: true });
tcp.on('error', fail);
tcp.listen({ host: '127.0.0.1', port: proxyPort, exclusive: true }, () => {
  const udp = dgram.createSocket('udp4');
  udp.on('error', fail);
  udp.bind({ address: '127.0.0.1', port: dnsPort, exclusive: true }, () => {
    // Sent sockets stay open here too: close this process's copies (the parent's are in flight or
    // received) and exit at once, or this process would accept some connections and reset them.
    process.send('proxy', tcp, () =>
      process.send('dns', udp, () => {
        tcp.close();
        udp.close();
        process.exit(0);
      }),
    );
  });
});
