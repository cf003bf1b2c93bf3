package org.mailcluster.queue;

import java.util.Collection;
import java.util.Date;
import java.util.Map;

import org.apache.james.blob.mail.MimeMessagePartsId;
import org.apache.james.core.MailAddress;
import org.apache.james.queue.rabbitmq.EnqueueId;
import org.apache.mailet.Mail;
import org.apache.mailet.PerRecipientHeaders;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The reference to a queued mail as James's RabbitMQ mail queue carries it (3.8.1's
 * {@code MailReferenceDTO}: the mail's envelope and attributes, and the blob ids of its stored
 * header and body), written by our own code so that the project publishes references without
 * reaching into James's package. The queue's consumer reads it with James's own reader, so the
 * field names and value shapes here must stay the ones James writes:
 * <pre>
 * {"enqueueId": "UUID", "recipients": ["a@b"], "name": "...", "sender": "s@d" | null,
 *  "state": "root", "errorMessage": null, "lastUpdated": 1796121585.120000000 | null,
 *  "attributes": {"name": "attribute value as James's JSON, in a string"},
 *  "remoteAddr": "...", "remoteHost": "...",
 *  "perRecipientHeaders": {"a@b": {"header": {"X-Name": ["value"]}}},
 *  "headerBlobId": "...", "bodyBlobId": "..."}
 * </pre>
 */
final class MailReferenceJson {
    /** James writes its Instants with Jackson's JavaTimeModule (decimal epoch seconds). */
    private static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule());

    private MailReferenceJson() {
    }

    static byte[] write(EnqueueId enqueueId, Mail mail, MimeMessagePartsId parts) {
        ObjectNode reference = JSON.createObjectNode();
        reference.put("enqueueId", enqueueId.serialize());
        ArrayNode recipients = reference.putArray("recipients");
        if (mail.getRecipients() != null) {
            mail.getRecipients().forEach(recipient -> recipients.add(recipient.asString()));
        }
        reference.put("name", mail.getName());
        reference.put("sender", mail.getMaybeSender().asOptional().map(MailAddress::asString).orElse(null));
        reference.put("state", mail.getState());
        reference.put("errorMessage", mail.getErrorMessage());
        Date lastUpdated = mail.getLastUpdated();
        reference.set("lastUpdated", lastUpdated == null ? JSON.nullNode() : JSON.valueToTree(lastUpdated.toInstant()));
        ObjectNode attributes = reference.putObject("attributes");
        mail.attributes().forEach(attribute -> attribute.getValue().toJson()
            .ifPresent(json -> attributes.put(attribute.getName().asString(), json.toString())));
        reference.put("remoteAddr", mail.getRemoteAddr());
        reference.put("remoteHost", mail.getRemoteHost());
        ObjectNode perRecipient = reference.putObject("perRecipientHeaders");
        for (Map.Entry<MailAddress, Collection<PerRecipientHeaders.Header>> entry
                : mail.getPerRecipientSpecificHeaders().getHeadersByRecipient().asMap().entrySet()) {
            ObjectNode headers = perRecipient.putObject(entry.getKey().asString()).putObject("header");
            for (PerRecipientHeaders.Header header : entry.getValue()) {
                ArrayNode values = headers.has(header.getName()) ? (ArrayNode) headers.get(header.getName()) : headers.putArray(header.getName());
                values.add(header.getValue());
            }
        }
        reference.put("headerBlobId", parts.getHeaderBlobId().asString());
        reference.put("bodyBlobId", parts.getBodyBlobId().asString());
        try {
            return JSON.writeValueAsBytes(reference);
        } catch (Exception e) {
            throw new IllegalStateException("could not write the reference of " + mail.getName(), e);
        }
    }

}
