// HttpClient with client certificates against nginx from Debian, configured
// to require one signed by the test CA (certificates made by openssl at test
// time). nginx runs in the foreground on a free 127.0.0.1 port and is
// stopped by the test.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { platform } from "../../core/platform/mod.ts";
import type { ChildProcessHandle } from "../../core/platform/mod.ts";
import { HttpClient } from "../../http/client.ts";
import { generateTestCerts, type TestCerts } from "../tls_certs.ts";
import { freePort, type TempDir, tempDir, waitFor } from "../harness.ts";

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

describe("HttpClient with client certificates (nginx)", () => {
  let dir: TempDir;
  let certs: TestCerts;
  let nginx: ChildProcessHandle;
  let base = "";

  before(async () => {
    dir = await tempDir();
    certs = await generateTestCerts(dir.path);
    const port = await freePort();
    await platform().mkdir(dir.join("tmp"));
    await platform().writeTextFile(
      dir.join("nginx.conf"),
      `daemon off;
master_process off;
user root;
error_log ${dir.join("error.log")} warn;
pid ${dir.join("nginx.pid")};
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir.join("tmp")};
  proxy_temp_path ${dir.join("tmp")};
  fastcgi_temp_path ${dir.join("tmp")};
  uwsgi_temp_path ${dir.join("tmp")};
  scgi_temp_path ${dir.join("tmp")};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certs.server.certFile};
    ssl_certificate_key ${certs.server.keyFile};
    ssl_client_certificate ${certs.ca.certFile};
    ssl_verify_client on;
    location / { return 200 "client=$ssl_client_s_dn verify=$ssl_client_verify"; }
  }
}
`,
    );
    nginx = platform().spawn("nginx", {
      args: ["-p", dir.path, "-c", dir.join("nginx.conf")],
      stdout: "null",
      stderr: "null",
    });
    await waitFor(() => accepting(port), { what: "nginx to listen" });
    base = `https://127.0.0.1:${port}`;
  });

  after(async () => {
    nginx.kill("SIGKILL");
    await nginx.status.catch(() => {});
    await dir[Symbol.asyncDispose]();
  });

  it("presents the client certificate nginx requires (the seed's clientCertFile names)", async () => {
    await using client = new HttpClient({
      tlsConfig: {
        caFile: certs.ca.certFile,
        clientCertFile: certs.client.certFile,
        clientKeyFile: certs.client.keyFile,
      },
    });
    const response = await client.get(`${base}/`);
    assert.equal(response.statusCode, 200);
    assert.match(response.body, /CN=iora-test-client/);
    assert.match(response.body, /verify=SUCCESS/);
    assert.equal((await client.get(`${base}/again`)).statusCode, 200);
    assert.equal(client.getStats().connectionsReused, 1, "kept alive over TLS");
  });

  it("without a certificate, or with one from another CA, nginx refuses", async () => {
    await using bare = new HttpClient({ tlsConfig: { caFile: certs.ca.certFile } });
    assert.equal((await bare.get(`${base}/`)).statusCode, 400);
    await using stranger = new HttpClient({
      tlsConfig: {
        caFile: certs.ca.certFile,
        certFile: certs.otherClient.certFile,
        keyFile: certs.otherClient.keyFile,
      },
    });
    const refused = await stranger.get(`${base}/`).then((r) => r.statusCode, (e) => e.code);
    assert.ok(refused === 400 || refused === "ConnectFailed", String(refused));
  });

  it("refuses a server whose certificate its CA did not sign", async () => {
    await using client = new HttpClient({ tlsConfig: { caFile: certs.otherCa.certFile } });
    await assert.rejects(client.get(`${base}/`), { code: "ConnectFailed" });
  });
});
