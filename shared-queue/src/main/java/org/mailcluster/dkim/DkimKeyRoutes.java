package org.mailcluster.dkim;

import static org.mailcluster.webadmin.WebAdminErrors.badRequest;
import static org.mailcluster.webadmin.WebAdminErrors.notFound;

import java.security.PrivateKey;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import javax.inject.Inject;

import org.apache.james.core.Domain;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.webadmin.Routes;
import org.eclipse.jetty.http.HttpStatus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import spark.Request;
import spark.Service;

/**
 * DKIM keys through webadmin, on every node type (keys added here are shared through Cassandra):
 * <ul>
 *   <li>{@code GET /dkim/domains}: every domain with a key, and its keys;</li>
 *   <li>{@code GET /dkim/domains/DOMAIN}: the domain's keys, newest (signing) first, each with
 *       the DNS record to publish ({@code dnsRecord}: name, type, value);</li>
 *   <li>{@code PUT /dkim/domains/DOMAIN} with {@code {"selector": "S"}}: a new 2048-bit key
 *       made in the cluster (its private half never leaves it), or with
 *       {@code {"selector": "S", "privateKey": "-----BEGIN PRIVATE KEY-----..."}} an operator's
 *       own (PKCS#8 PEM). The new key signs from now on (rotation): publish its record first,
 *       or add it before switching DNS, as receivers fail a signature they cannot look up.
 *       Answers 201 with the domain's keys;</li>
 *   <li>{@code DELETE /dkim/domains/DOMAIN/selectors/S}: removes a key added here (a key from
 *       a file goes by removing its file).</li>
 * </ul>
 * Private keys are never returned nor logged. Errors are 400 naming the field.
 */
public class DkimKeyRoutes implements Routes {
    static final String BASE = "/dkim/domains";
    private static final Set<String> FIELDS = Set.of("selector", "privateKey");

    private final DkimKeys keys;
    private final DomainList domains;
    private final ObjectMapper json = new ObjectMapper();

    @Inject
    DkimKeyRoutes(DkimKeys keys, DomainList domains) {
        this.keys = keys;
        this.domains = domains;
    }

    @Override
    public String getBasePath() {
        return BASE;
    }

    @Override
    public void define(Service service) {
        service.get(BASE, (request, response) -> {
            ObjectNode all = JsonNodeFactory.instance.objectNode();
            keys.all().forEach((domain, list) -> all.set(domain, describe(list)));
            response.type("application/json");
            return all.toString();
        });
        service.get(BASE + "/:domain", (request, response) -> {
            String domain = domain(request);
            List<DkimKey> list = keys.keysOf(domain);
            if (list.isEmpty()) {
                throw notFound("no DKIM key for " + domain);
            }
            response.type("application/json");
            return describe(list).toString();
        });
        service.put(BASE + "/:domain", (request, response) -> {
            String domain = domain(request);
            if (!domains.containsDomain(Domain.of(domain))) {
                throw badRequest("domain " + domain + " is not hosted by the cluster: its users cannot send as it (PUT /domains/" + domain + " first)");
            }
            NewKey key = parse(request.body());
            if (keys.keysOf(domain).stream().anyMatch(existing -> existing.selector().equals(key.selector()))) {
                throw badRequest("selector " + key.selector() + " is already used by " + domain + ": rotate to a new selector");
            }
            keys.add(domain, key.selector(), key.privateKey().orElseGet(DkimKey::generate));
            response.status(HttpStatus.CREATED_201);
            response.type("application/json");
            return describe(keys.keysOf(domain)).toString();
        });
        service.delete(BASE + "/:domain/selectors/:selector", (request, response) -> {
            String domain = domain(request);
            String selector = request.params("selector");
            DkimKey key = keys.keysOf(domain).stream().filter(k -> k.selector().equals(selector)).findFirst()
                .orElseThrow(() -> notFound("no DKIM key " + selector + " for " + domain));
            if (key.source() == DkimKey.Source.FILE) {
                throw badRequest("the key " + key.dnsName() + " comes from a file of the key directory: remove the file (or the Secret's entry)");
            }
            keys.remove(domain, selector);
            response.status(HttpStatus.NO_CONTENT_204);
            return "";
        });
    }

    record NewKey(String selector, Optional<PrivateKey> privateKey) {
    }

    NewKey parse(String body) {
        JsonNode node;
        try {
            node = json.readTree(body == null ? "" : body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw badRequest("the body is not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            throw badRequest("the body must be a JSON object: {\"selector\": \"...\"}, with \"privateKey\" optionally");
        }
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw badRequest("unknown field " + name + " (known: selector, privateKey)");
            }
        }
        JsonNode selector = node.get("selector");
        if (selector == null || !selector.isTextual() || !DkimKey.isSelector(selector.asText())) {
            throw badRequest("selector must be one DNS label (letters, digits, inner hyphens), for example \"s2027\"");
        }
        JsonNode pem = node.get("privateKey");
        if (pem == null || pem.isNull()) {
            return new NewKey(selector.asText(), Optional.empty());
        }
        if (!pem.isTextual()) {
            throw badRequest("privateKey must be a string holding a PEM key");
        }
        try {
            return new NewKey(selector.asText(), Optional.of(DkimKey.parsePem(pem.asText())));
        } catch (IllegalArgumentException e) {
            throw badRequest("privateKey: " + e.getMessage());
        }
    }

    private static String domain(Request request) {
        String raw = request.params("domain");
        try {
            return Domain.of(raw).asString().toLowerCase(Locale.ROOT);
        } catch (IllegalArgumentException e) {
            throw badRequest("domain: not a domain name: " + raw);
        }
    }

    static ObjectNode describe(List<DkimKey> list) {
        ObjectNode domain = JsonNodeFactory.instance.objectNode();
        domain.put("signingSelector", list.get(0).selector());
        ArrayNode all = domain.putArray("keys");
        for (DkimKey key : list) {
            ObjectNode entry = all.addObject();
            entry.put("selector", key.selector());
            entry.put("source", key.source().label());
            entry.put("created", key.created().toString());
            ObjectNode record = entry.putObject("dnsRecord");
            record.put("name", key.dnsName());
            record.put("type", "TXT");
            record.put("value", key.dnsValue());
        }
        return domain;
    }
}
