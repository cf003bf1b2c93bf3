<?php
// Compose's webmail (compose.yaml, profile "webmail"): read by Roundcube's image after its own
// configuration. The nodes share one certificate, made by init-secrets for the domain; verify
// them against it, by the domain's name (they are reached by service name).
$cluster_tls = ['ssl' => [
    'verify_peer' => true, 'verify_peer_name' => true, 'allow_self_signed' => false,
    'cafile' => '/run/secrets/mailcluster/cluster-cert.pem',
    'peer_name' => getenv('MC_DOMAIN') ?: 'mail.test',
]];
$config['imap_conn_options'] = $cluster_tls;
$config['smtp_conn_options'] = $cluster_tls;
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';
$config['username_domain'] = getenv('MC_DOMAIN') ?: 'mail.test';
$config['mail_domain'] = getenv('MC_DOMAIN') ?: 'mail.test';
