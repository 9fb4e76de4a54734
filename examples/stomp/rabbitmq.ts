/**
 * Starts a private RabbitMQ node with the web-stomp plugin for tests: Debian's `rabbitmq-server`
 * package, its own temporary directory, free ports (AMQP, web-stomp, Erlang distribution and epmd),
 * so it never touches a system broker. `stop()` ends the node and its epmd and removes the files.
 *
 * Install: `apt-get install -y rabbitmq-server` (about 10 s); a node starts in about 8 s.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const EPMD = "/usr/bin/epmd";

export interface Broker {
  /** The web-stomp endpoint, e.g. ws://127.0.0.1:41234/ws */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRabbitMQ(timeoutMs = 60_000): Promise<Broker> {
  if (!existsSync(SERVER)) {
    throw new Error(
      `RabbitMQ is not installed (${SERVER} is missing): the STOMP example is tested against a real broker. ` +
        "Install it with: apt-get install -y rabbitmq-server",
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "resilient-ws-rabbitmq-"));
  const [amqp, stompPort, dist, epmd] = await freePorts(4);
  await writeFile(
    join(dir, "rabbitmq.conf"),
    [
      "listeners.tcp.default = " + amqp,
      "web_stomp.tcp.port = " + stompPort,
      "web_stomp.tcp.ip = 127.0.0.1",
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "enabled_plugins"), "[rabbitmq_web_stomp].\n");
  const env = {
    ...process.env,
    HOME: dir, // the Erlang cookie goes here
    RABBITMQ_NODENAME: `resilientws${process.pid}@localhost`,
    RABBITMQ_CONFIG_FILE: join(dir, "rabbitmq.conf"),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, "enabled_plugins"),
    RABBITMQ_MNESIA_BASE: join(dir, "mnesia"),
    RABBITMQ_LOG_BASE: join(dir, "log"),
    RABBITMQ_PID_FILE: join(dir, "pid"),
    RABBITMQ_DIST_PORT: String(dist),
    ERL_EPMD_PORT: String(epmd),
  };
  const logFile = join(dir, "stdout.log");
  const out = openSync(logFile, "w");
  // Its own process group, so stop() reaches the shell wrapper and beam.smp together.
  const child = spawn(SERVER, [], { env, detached: true, stdio: ["ignore", out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  child.on("exit", (code) => (exited = code));
  // Safety net: a test process that dies without calling stop() must not leave a broker behind.
  const onExit = () => {
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      // already gone
    }
    spawnSync(EPMD, ["-kill"], { env, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);

  const stop = async () => {
    process.off("exit", onExit);
    await killGroup(child.pid as number);
    // epmd daemonizes out of the group; it listens on our private port, so this ends only ours.
    spawnSync(EPMD, ["-kill"], { env, stdio: "ignore" });
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(stompPort))) {
    if (exited !== undefined || Date.now() > deadline) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      await stop();
      throw new Error(
        `RabbitMQ did not ${exited !== undefined ? `start (exit ${exited})` : `listen within ${timeoutMs} ms`}:\n${log.slice(-2000)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200)); // polling a port: there is no event for "a foreign process listens"
  }
  return { url: `ws://127.0.0.1:${stompPort}/ws`, stop };
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const server = createServer();
      server.listen(0, "127.0.0.1", () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function killGroup(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pid, "SIGTERM"); // beam.smp stops the node cleanly on SIGTERM (about 1 s)
  for (let i = 0; i < 100 && alive(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive()) process.kill(-pid, "SIGKILL");
}
