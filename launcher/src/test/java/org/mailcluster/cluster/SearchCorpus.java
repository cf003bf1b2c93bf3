package org.mailcluster.cluster;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Random;

import javax.mail.Flags;

/**
 * A deterministic corpus of varied mail for the search tests: plain, multipart/alternative,
 * HTML-only, attachments (text and binary), encoded non-ASCII headers, quoted-printable and
 * base64 bodies, several time zones, flags and keywords.
 *
 * <p>Words are chosen so that none is a substring of another word or of the boilerplate:
 * the reference search matches substrings, a full-text index matches words, and a corpus
 * where the two notions agree lets a test compare them exactly.
 */
final class SearchCorpus {
    /** One message to append: its bytes, internal date and flags. */
    record Mail(int index, byte[] content, Date internalDate, Flags flags) {
    }

    static final String[] WORDS = {
        "zebra", "lantern", "quokka", "marble", "harbour", "velvet", "glacier", "pumpkin",
        "walrus", "saffron", "cobalt", "nutmeg", "falcon", "juniper", "tundra", "mosaic",
        "bramble", "kestrel", "oxbow", "quartz", "yodel", "wombat", "fjord", "gazebo"};

    static final String[] SENDERS = {
        "Alice Martin <alice.martin@example.org>",
        "Bob Stone <bob@stone.example>",
        "=?UTF-8?Q?Chlo=C3=A9_Dupont?= <chloe@exemple.fr>",
        "noreply@shop.example",
        "=?UTF-8?B?Wm/DqyDDhW5nc3Ryw7Zt?= <zoe@nordic.example>"};

    static final String[] RECIPIENTS = {
        "Carol Reed <carol@mail.test>", "dave@mail.test", "Erin Park <erin@partner.example>",
        "frank@mail.test"};

    static final String[] SUBJECTS = {
        "quarterly report", "invoice pending", "meeting agenda", "Re: project kickoff",
        "Fwd: holiday photos", "server outage", "=?UTF-8?Q?Caf=C3=A9_menu?=",
        "=?UTF-8?B?w4l0w6kgcGxhbm5pbmc=?="};

    static final String[] ZONES = {"+0000", "+0200", "-0500", "+0930"};

    private static final DateTimeFormatter RFC_5322 =
        DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z", Locale.ENGLISH);

    private SearchCorpus() {
    }

    static List<Mail> generate(int count, long seed) {
        Random random = new Random(seed);
        List<Mail> mails = new ArrayList<>();
        ZonedDateTime start = ZonedDateTime.of(2024, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);
        for (int i = 0; i < count; i++) {
            ZonedDateTime sent = start.plusMinutes(random.nextInt(60 * 24 * 180))
                .withZoneSameInstant(ZoneOffset.of(ZONES[random.nextInt(ZONES.length)]));
            // Arrival a few hours after sending: often another day than the Date header's.
            Date internalDate = Date.from(sent.plusMinutes(random.nextInt(60 * 30)).toInstant());
            mails.add(new Mail(i, message(i, sent, random).getBytes(StandardCharsets.UTF_8), internalDate, flags(random)));
        }
        return mails;
    }

    private static Flags flags(Random random) {
        Flags flags = new Flags();
        if (random.nextInt(100) < 50) {
            flags.add(Flags.Flag.SEEN);
        }
        if (random.nextInt(100) < 20) {
            flags.add(Flags.Flag.FLAGGED);
        }
        if (random.nextInt(100) < 15) {
            flags.add(Flags.Flag.ANSWERED);
        }
        if (random.nextInt(100) < 5) {
            flags.add(Flags.Flag.DRAFT);
        }
        if (random.nextInt(100) < 10) {
            flags.add(Flags.Flag.DELETED);
        }
        if (random.nextInt(100) < 15) {
            flags.add("$Important");
        }
        if (random.nextInt(100) < 10) {
            flags.add("project-x");
        }
        return flags;
    }

    private static String message(int i, ZonedDateTime sent, Random random) {
        StringBuilder headers = new StringBuilder();
        headers.append("From: ").append(pick(SENDERS, random)).append("\r\n");
        headers.append("To: ").append(pick(RECIPIENTS, random));
        if (random.nextBoolean()) {
            headers.append(",\r\n ").append(pick(RECIPIENTS, random));
        }
        headers.append("\r\n");
        if (random.nextInt(3) == 0) {
            headers.append("Cc: ").append(pick(RECIPIENTS, random)).append("\r\n");
        }
        if (random.nextInt(6) == 0) {
            headers.append("Bcc: Gina Hale <gina@hidden.example>\r\n");
        }
        headers.append("Subject: ").append(pick(SUBJECTS, random)).append(" number").append(i).append("\r\n");
        headers.append("Date: ").append(RFC_5322.format(sent)).append("\r\n");
        headers.append("Message-ID: <corpus.").append(i).append("@generator.example>\r\n");
        if (random.nextInt(4) == 0) {
            headers.append("X-Mailer: Thunderbird 115\r\n");
        }
        if (random.nextInt(5) == 0) {
            headers.append("List-Id: <announce.lists.example>\r\n");
        }
        headers.append("MIME-Version: 1.0\r\n");

        String text = sentence(random, 8 + random.nextInt(40)) + " uq" + i + "x";
        switch (random.nextInt(6)) {
            case 0:
                return headers + "Content-Type: text/plain; charset=UTF-8\r\n\r\n" + wrap(text) + "\r\n";
            case 1:
                return headers + "Content-Type: text/html; charset=UTF-8\r\n\r\n"
                    + "<html><body><p>" + wrap(text) + "</p></body></html>\r\n";
            case 2:
                return headers + "Content-Type: multipart/alternative; boundary=\"alt" + i + "\"\r\n\r\n"
                    + "--alt" + i + "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + wrap(text) + "\r\n"
                    + "--alt" + i + "\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<div>" + wrap(text) + "</div>\r\n"
                    + "--alt" + i + "--\r\n";
            case 3:
                return headers + "Content-Type: multipart/mixed; boundary=\"mix" + i + "\"\r\n\r\n"
                    + "--mix" + i + "\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n" + wrap(text) + "\r\n"
                    + "--mix" + i + "\r\nContent-Type: text/plain; name=\"notes" + i + ".txt\"\r\n"
                    + "Content-Disposition: attachment; filename=\"notes" + i + ".txt\"\r\n\r\n"
                    + sentence(random, 12) + "\r\n"
                    + "--mix" + i + "\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\n"
                    + "Content-Disposition: attachment; filename=\"scan.pdf\"\r\n"
                    + "Content-Transfer-Encoding: base64\r\n\r\n"
                    + binary(random, 200 + random.nextInt(6000)) + "\r\n"
                    + "--mix" + i + "--\r\n";
            case 4:
                return headers + "Content-Type: text/plain; charset=UTF-8\r\n"
                    + "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
                    + wrap(text) + " =C3=A9t=C3=A9\r\n";
            default:
                // A long plain message, for LARGER/SMALLER.
                return headers + "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
                    + wrap(text + " " + sentence(random, 300 + random.nextInt(900))) + "\r\n";
        }
    }

    private static String pick(String[] values, Random random) {
        return values[random.nextInt(values.length)];
    }

    private static String sentence(Random random, int words) {
        StringBuilder sentence = new StringBuilder();
        for (int w = 0; w < words; w++) {
            sentence.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
        }
        return sentence.toString();
    }

    /** Lines under 78 characters, broken between words. */
    private static String wrap(String text) {
        StringBuilder wrapped = new StringBuilder();
        int lineLength = 0;
        for (String word : text.split(" ")) {
            if (lineLength > 0 && lineLength + word.length() + 1 > 76) {
                wrapped.append("\r\n");
                lineLength = 0;
            } else if (lineLength > 0) {
                wrapped.append(' ');
                lineLength++;
            }
            wrapped.append(word);
            lineLength += word.length();
        }
        return wrapped.toString();
    }

    private static String binary(Random random, int size) {
        byte[] bytes = new byte[size];
        random.nextBytes(bytes);
        return Base64.getMimeEncoder().encodeToString(bytes);
    }
}
