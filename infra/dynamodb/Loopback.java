import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;

import java.lang.reflect.Field;

/**
 * Starts DynamoDB Local bound to 127.0.0.1 only.
 *
 * The bundled DynamoDB Local has no host option and listens on every
 * interface, so this launcher creates the server from the usual command-line
 * arguments and pins its Jetty connectors to loopback before starting it.
 */
public class Loopback {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("dynamodb.host", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            connector.setHost(host);
        }
        proxy.start();
        proxy.join();
    }
}
