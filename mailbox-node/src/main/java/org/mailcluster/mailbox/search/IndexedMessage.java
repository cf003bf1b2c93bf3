package org.mailcluster.mailbox.search;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Calendar;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TimeZone;

import javax.mail.Flags;

import org.apache.commons.io.IOUtils;
import org.apache.james.mailbox.extractor.TextExtractor;
import org.apache.james.mailbox.model.ContentType;
import org.apache.james.mailbox.model.MessageAttachmentMetadata;
import org.apache.james.mailbox.store.mail.model.MailboxMessage;
import org.apache.james.mailbox.store.search.SearchUtil;
import org.apache.james.mime4j.codec.DecodeMonitor;
import org.apache.james.mime4j.codec.DecoderUtil;
import org.apache.james.mime4j.dom.Body;
import org.apache.james.mime4j.dom.Entity;
import org.apache.james.mime4j.dom.Message;
import org.apache.james.mime4j.dom.Multipart;
import org.apache.james.mime4j.dom.SingleBody;
import org.apache.james.mime4j.dom.TextBody;
import org.apache.james.mime4j.dom.address.Address;
import org.apache.james.mime4j.dom.address.AddressList;
import org.apache.james.mime4j.dom.address.Group;
import org.apache.james.mime4j.dom.address.Mailbox;
import org.apache.james.mime4j.dom.field.DateTimeField;
import org.apache.james.mime4j.field.address.AddressFormatter;
import org.apache.james.mime4j.field.address.LenientAddressParser;
import org.apache.james.mime4j.field.datetime.parser.DateTimeParser;
import org.apache.james.mime4j.field.DateTimeFieldLenientImpl;
import org.apache.james.mime4j.message.DefaultMessageBuilder;
import org.apache.james.mime4j.stream.Field;
import org.apache.james.mime4j.stream.MimeConfig;
import org.apache.james.mime4j.stream.RawField;
import org.apache.james.mime4j.util.MimeUtil;

/**
 * The search document of one message in one mailbox, as {@code message-index.json} maps it.
 *
 * <p>Fields follow the semantics of James's reference (scanning) search, so that an IMAP
 * client gets the same answer from either:
 * <ul>
 *   <li>addresses ({@code from}, {@code to}, {@code cc}, {@code bcc}): the first such header,
 *       both raw and as each address formatted {@code "Name <local@domain>"}, matched by
 *       substring; plus the decoded form, so a non-ASCII display name is found as typed;</li>
 *   <li>{@code headers}: every header's unfolded value (and its decoded form when it has
 *       encoded words), matched by substring, for HEADER, SUBJECT and Message-ID criteria;</li>
 *   <li>{@code textBody}, {@code htmlBody} (tags stripped), attachment text: full-text,
 *       word-based, with the e-mail and URL aware tokenizer;</li>
 *   <li>{@code sentDate} is the Date header read the way the reference reads it; the sort keys
 *       ({@code sort*}) are computed with James's own {@link SearchUtil} rules (base subject,
 *       first mailbox address, upper-cased), so IMAP SORT orders as RFC 5256 says.</li>
 * </ul>
 */
final class IndexedMessage {
    private static final int MAX_HEADER_VALUE = 8000;

    private IndexedMessage() {
    }

    static String documentId(String mailboxId, long uid) {
        return mailboxId + ":" + uid;
    }

    static Map<String, Object> flagsDocument(Flags flags, long modSeq) {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("modSeq", modSeq);
        document.put("flags", flags(flags));
        return document;
    }

    static Map<String, Object> from(MailboxMessage message, TextExtractor textExtractor) throws IOException {
        byte[] content = IOUtils.toByteArray(message.getFullContent());
        Message mime = parse(content);

        Map<String, Object> document = new LinkedHashMap<>();
        document.put("mailboxId", message.getMailboxId().serialize());
        document.put("uid", message.getUid().asLong());
        document.put("modSeq", message.getModSeq().asLong());
        document.put("messageId", message.getMessageId().serialize());
        document.put("threadId", message.getThreadId().serialize());
        document.put("size", message.getFullContentOctets());
        document.put("internalDate", message.getInternalDate().getTime());
        message.getSaveDate().ifPresent(date -> document.put("saveDate", date.getTime()));
        document.put("flags", flags(message.createFlags()));

        List<Field> fields = mime.getHeader().getFields();
        firstValue(fields, "date").flatMap(IndexedMessage::sentDate)
            .ifPresent(date -> document.put("sentDate", date.getTime()));
        document.put("sortSentDate", firstValue(fields, "date").flatMap(IndexedMessage::lenientDate)
            .orElse(message.getInternalDate()).getTime());

        for (String addressHeader : List.of("from", "to", "cc", "bcc")) {
            document.put(addressHeader, firstRawValue(fields, addressHeader)
                .map(IndexedMessage::addressForms).orElse(List.of()));
        }
        String subject = firstValue(fields, "subject").orElse("");
        document.put("subject", decode(subject));
        // Decoded first, as RFC 5256 says: James's scanning search upper-cases the raw header
        // before decoding, which garbles base64 encoded words and sorts them at random.
        document.put("sortSubject", caseInsensitiveKey(SearchUtil.getBaseSubject(decode(subject))));
        document.put("sortFrom", sortAddress(fields, "from"));
        document.put("sortTo", sortAddress(fields, "to"));
        document.put("sortCc", sortAddress(fields, "cc"));

        List<Map<String, String>> headers = new ArrayList<>();
        StringBuilder headerText = new StringBuilder();
        for (Field field : fields) {
            String name = field.getName().toLowerCase(Locale.US);
            String value = unfold(field.getBody());
            headers.add(header(name, value));
            String decoded = decode(value);
            if (!decoded.equals(value)) {
                headers.add(header(name, decoded));
            }
            headerText.append(decoded).append('\n');
        }
        document.put("headers", headers);
        document.put("headerText", headerText.toString());

        Parts parts = new Parts(textExtractor);
        parts.walk(mime);
        document.put("textBody", parts.text.toString());
        document.put("htmlBody", parts.html.toString());
        document.put("attachments", parts.attachments);
        document.put("hasAttachment", MessageAttachmentMetadata.hasNonInlinedAttachment(message.getAttachments()));
        return document;
    }

    private static Message parse(byte[] content) throws IOException {
        DefaultMessageBuilder builder = new DefaultMessageBuilder();
        // Mail from the Internet breaks every limit; index what can be read rather than fail.
        builder.setMimeEntityConfig(MimeConfig.PERMISSIVE);
        builder.setDecodeMonitor(DecodeMonitor.SILENT);
        return builder.parseMessage(new ByteArrayInputStream(content));
    }

    private static Map<String, Object> flags(Flags flags) {
        Map<String, Object> document = new LinkedHashMap<>();
        document.put("answered", flags.contains(Flags.Flag.ANSWERED));
        document.put("deleted", flags.contains(Flags.Flag.DELETED));
        document.put("draft", flags.contains(Flags.Flag.DRAFT));
        document.put("flagged", flags.contains(Flags.Flag.FLAGGED));
        document.put("seen", flags.contains(Flags.Flag.SEEN));
        document.put("user", List.of(flags.getUserFlags()));
        return document;
    }

    private static Map<String, String> header(String name, String value) {
        return Map.of("name", name, "value",
            value.length() > MAX_HEADER_VALUE ? value.substring(0, MAX_HEADER_VALUE) : value);
    }

    private static Optional<String> firstRawValue(List<Field> fields, String name) {
        return fields.stream()
            .filter(field -> field.getName().equalsIgnoreCase(name))
            .map(Field::getBody)
            .findFirst();
    }

    private static Optional<String> firstValue(List<Field> fields, String name) {
        return firstRawValue(fields, name).map(IndexedMessage::unfold);
    }

    private static String unfold(String value) {
        String unfolded = MimeUtil.unscrambleHeaderValue(value);
        return unfolded == null ? "" : unfolded;
    }

    private static String decode(String value) {
        return DecoderUtil.decodeEncodedWords(value, DecodeMonitor.SILENT);
    }

    /** The raw header, each address as the reference formats it, and each one decoded. */
    private static List<String> addressForms(String rawValue) {
        List<String> forms = new ArrayList<>();
        forms.add(rawValue);
        AddressList addresses = LenientAddressParser.DEFAULT.parseAddressList(rawValue);
        for (Address address : addresses) {
            List<Mailbox> mailboxes = address instanceof Group
                ? ((Group) address).getMailboxes()
                : List.of((Mailbox) address);
            for (Mailbox mailbox : mailboxes) {
                String formatted = unfold(AddressFormatter.DEFAULT.encode(mailbox));
                forms.add(formatted);
                String displayed = AddressFormatter.DEFAULT.format(mailbox, false);
                if (!displayed.equals(formatted)) {
                    forms.add(displayed);
                }
            }
        }
        return forms;
    }

    private static String sortAddress(List<Field> fields, String name) {
        String value = firstRawValue(fields, name).map(v -> v.toUpperCase(Locale.US)).orElse("");
        return caseInsensitiveKey(SearchUtil.getMailboxAddress(value));
    }

    /**
     * A keyword that sorts (by code point) as {@code String.compareToIgnoreCase} orders, which
     * is how IMAP SORT compares subjects and addresses.
     */
    private static String caseInsensitiveKey(String value) {
        return value.toUpperCase(Locale.US).toLowerCase(Locale.US);
    }

    /** The Date header as the IMAP SENT* criteria read it: its own zone, to the second. */
    private static Optional<Date> sentDate(String value) {
        try {
            var dateTime = new DateTimeParser(new StringReader(value)).parseAll();
            Calendar calendar = Calendar.getInstance(
                TimeZone.getTimeZone(String.format("GMT%+04d", dateTime.getTimeZone())), Locale.ENGLISH);
            calendar.set(dateTime.getYear(), dateTime.getMonth() - 1, dateTime.getDay(),
                dateTime.getHour(), dateTime.getMinute(), dateTime.getSecond());
            calendar.set(Calendar.MILLISECOND, 0);
            return Optional.of(calendar.getTime());
        } catch (Exception | Error unparsable) {
            // javacc's parser throws TokenMgrError on some garbage: the message simply has
            // no sent date, as for the reference.
            return Optional.empty();
        }
    }

    /** The Date header as IMAP SORT (SENTDATE) reads it: leniently, else the arrival date. */
    private static Optional<Date> lenientDate(String value) {
        return Optional.ofNullable(DateTimeFieldLenientImpl.PARSER
                .parse(new RawField("Date", value), DecodeMonitor.SILENT))
            .map(DateTimeField::getDate);
    }

    /** Collects the readable text of a MIME tree: inline text parts and attachments. */
    private static final class Parts {
        private final TextExtractor textExtractor;
        private final StringBuilder text = new StringBuilder();
        private final StringBuilder html = new StringBuilder();
        private final List<Map<String, Object>> attachments = new ArrayList<>();

        Parts(TextExtractor textExtractor) {
            this.textExtractor = textExtractor;
        }

        void walk(Entity entity) throws IOException {
            Body body = entity.getBody();
            if (body instanceof Multipart) {
                for (Entity part : ((Multipart) body).getBodyParts()) {
                    walk(part);
                }
            } else if (body instanceof Message) {
                walk((Message) body);
            } else if (body instanceof SingleBody) {
                leaf(entity, (SingleBody) body);
            }
        }

        private void leaf(Entity entity, SingleBody body) throws IOException {
            String mimeType = entity.getMimeType() == null ? "text/plain" : entity.getMimeType().toLowerCase(Locale.US);
            Optional<String> fileName = Optional.ofNullable(entity.getFilename()).map(IndexedMessage::decode);
            boolean attachment = fileName.isPresent() || "attachment".equalsIgnoreCase(entity.getDispositionType());
            if (attachment) {
                Map<String, Object> described = new LinkedHashMap<>();
                fileName.ifPresent(name -> described.put("fileName", name));
                described.put("mediaType", mimeType);
                extract(entity, body, mimeType).ifPresent(text -> described.put("textContent", text));
                attachments.add(described);
            } else if (mimeType.equals("text/plain")) {
                text.append(readText(body)).append('\n');
            } else if (mimeType.equals("text/html")) {
                extract(entity, body, mimeType).ifPresent(stripped -> html.append(stripped).append('\n'));
            }
        }

        private Optional<String> extract(Entity entity, SingleBody body, String mimeType) {
            String charset = entity.getCharset() == null ? "UTF-8" : entity.getCharset();
            ContentType contentType;
            try {
                contentType = ContentType.of(mimeType + "; charset=" + charset);
            } catch (RuntimeException badContentType) {
                return Optional.empty();
            }
            if (!textExtractor.applicable(contentType)) {
                return Optional.empty();
            }
            try (InputStream input = body.getInputStream()) {
                return textExtractor.extractContent(input, contentType).getTextualContent();
            } catch (Exception unreadable) {
                // A part we cannot read is not indexed; the rest of the message still is.
                return Optional.empty();
            }
        }

        private static String readText(SingleBody body) throws IOException {
            if (body instanceof TextBody) {
                return IOUtils.toString(((TextBody) body).getReader());
            }
            try (InputStream input = body.getInputStream()) {
                return new String(input.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
    }
}
