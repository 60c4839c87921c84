// A real Neo4j 5.26 (LTS) for metalgraph's tests, without Docker.
//
// Run from this folder, after `mvn -q dependency:copy-dependencies -DoutputDirectory=lib`:
//
//   java -Xmx3g --add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED \
//        --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.lang=ALL-UNNAMED \
//        --add-opens java.base/java.util=ALL-UNNAMED -cp 'lib/*' Launcher.java PORT
//
// Starts an in-process Neo4j (HTTP off, Bolt on 127.0.0.1:PORT, auth off) in a fresh temporary
// directory, prints one line `NEO4J READY bolt://127.0.0.1:PORT` on stdout, then serves until
// stdin closes or the process gets SIGTERM/SIGINT; either way the database is shut down and its
// temporary directory removed. runner.py (next to this file) drives it from pytest.
//
// Optional second argument: page cache size in MiB (default 512). With -Dmetalgraph.cleanup=DIR
// the launcher also deletes DIR after shutdown (runner.py passes its per-server directory).

import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;

public class Launcher {
    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 3) {
            System.err.println("usage: Launcher PORT [PAGECACHE_MIB [TX_MEMORY_MIB]]");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        long pageCacheMib = args.length > 1 ? Long.parseLong(args[1]) : 512L;
        long txMemoryMib = args.length > 2 ? Long.parseLong(args[2]) : 1024L; // 0: unbounded

        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder()
                .withDisabledServer() // no HTTP/HTTPS connectors: Bolt only
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .withConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .withConfig(GraphDatabaseSettings.auth_enabled, false)
                // Test data is small: a modest page cache, no file preallocation, and a bound on
                // transaction memory so a runaway query fails instead of exhausting the heap.
                .withConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMib * 1024L * 1024L)
                .withConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .withConfig(GraphDatabaseSettings.preallocate_store_files, false)
                .withConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemoryMib * 1024L * 1024L)
                // Netty's default 2 s quiet period per event loop group makes close() take ~12 s.
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .withConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(5))
                .build();

        AtomicBoolean closed = new AtomicBoolean(false);
        CountDownLatch done = new CountDownLatch(1);
        Runnable shutdown = () -> {
            if (closed.compareAndSet(false, true)) {
                try {
                    neo4j.close();
                    deleteTree(System.getProperty("metalgraph.cleanup"));
                } catch (Throwable t) {
                    System.err.println("neo4j shutdown failed: " + t);
                } finally {
                    done.countDown();
                }
            } else {
                // The other trigger (stdin EOF or a signal) is closing: let it finish first.
                try {
                    done.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        // SIGTERM / SIGINT: close cleanly so the temporary store directory is removed.
        Runtime.getRuntime().addShutdownHook(new Thread(shutdown, "neo4j-shutdown"));

        System.out.println("NEO4J READY bolt://127.0.0.1:" + port);
        System.out.flush();

        // Serve until stdin reaches EOF (the parent went away or closed the pipe).
        Thread stdinWatcher = new Thread(() -> {
            try {
                InputStream in = System.in;
                byte[] buffer = new byte[256];
                while (in.read(buffer) >= 0) {
                    // ignore input; only EOF matters
                }
            } catch (Exception e) {
                // treat a broken stdin like EOF
            }
            shutdown.run();
        }, "stdin-watcher");
        stdinWatcher.setDaemon(true);
        stdinWatcher.start();

        done.await();
        System.exit(0);
    }

    /** Best-effort removal of a directory tree (the runner's working directory), if one was named. */
    private static void deleteTree(String dir) {
        if (dir == null || dir.isEmpty()) {
            return;
        }
        try (Stream<Path> paths = Files.walk(Path.of(dir))) {
            paths.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (Exception e) {
            // the runner removes it too; nothing more to do here
        }
    }
}
