# dhtnode fish shell completion

function __fish_dhtnode_no_subcommand --description 'Test if there has been any subcommand yet'
    for i in (commandline -opc)
        if contains -- $i completion help h
            return 1
        end
    end
    return 0
end

complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l port -s p -r -d 'UDP `PORT` of both families (0: random); with --nodes, the first of consecutive ports'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l net -s n -r -d 'OpenDHT network `ID` (decimal, 0x hexadecimal or 0 octal)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l bootstrap -s b -r -d 'bootstrap from `HOST[:PORT]` (port 4222 when absent; repeatable)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l service -s s -d 'no console: run until SIGINT or SIGTERM'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l daemonize -s d -d 'run in the background, detached (implies -s)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -l logfile -s l -r -d 'write the DHT logs to `FILE` (implies -v)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l syslog -s L -d 'send the DHT logs to syslog'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l no-rate-limit -s U -d 'no request rate limits and no storage size limit'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l public-stable -s P -d 'listens last 5 minutes; no re-bootstrap after a failed search'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -l persist -s f -r -d 'keep the node id and known nodes in `FILE` (OpenDHT\'s state file) across restarts'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l nodes -r -d 'run `N` nodes in this process, bootstrapped to each other'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l json -d 'console: ll prints JSON'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l verbose -s v -d 'debug logs on stderr'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l quiet -s q -d 'print only the result'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l proxyserver -r -d 'serve OpenDHT\'s REST proxy API over HTTP on TCP `PORT` (0: random), from the first node'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l proxy-addr -r -d 'with --proxyserver, listen on `ADDR` only (default: every address, IPv6 and IPv4)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l identity -s i -d 'generate a node identity (EC P-384 CA and RSA-4096 node certificate, as OpenDHT): enables s, e and decryption'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -l save-identity -r -d 'with -i, save the identity as `PREFIX`.pem/.crt and PREFIX_ca.pem/.crt (keys 0600, encrypted with the --privkey-password-file password if given)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -l certificate -r -d 'load the node identity\'s certificate (chain) from `FILE` (PEM); needs --privkey'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -l privkey -r -d 'load the node identity\'s private key from `FILE` (PEM or DER); needs --certificate'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l force -d 'with --save-identity, overwrite existing files'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -l privkey-password-file -r -d 'read the password of an encrypted --privkey (or the one --save-identity encrypts the keys with) from `FILE` (or $DHTNODE_PRIVKEY_PASSWORD; --privkey also prompts on a terminal)'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l help -s h -d 'show help'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l version -d 'print the version and exit'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l help -s h -d 'show help'
complete -c dhtnode -n '__fish_dhtnode_no_subcommand' -f -l version -d 'print the version and exit'
complete -c dhtnode -n '__fish_seen_subcommand_from completion' -f -l help -s h -d 'show help'
complete -r -c dhtnode -n '__fish_dhtnode_no_subcommand' -a 'completion' -d 'print a shell completion script'
complete -c dhtnode -n '__fish_seen_subcommand_from completion' -f -l verbose -s v -d 'debug logs on stderr'
complete -c dhtnode -n '__fish_seen_subcommand_from completion' -f -l quiet -s q -d 'print only the result'
complete -c dhtnode -n '__fish_seen_subcommand_from completion' -f -l help -s h -d 'show help'
complete -c dhtnode -n '__fish_seen_subcommand_from help h' -f -l help -s h -d 'show help'
complete -r -c dhtnode -n '__fish_seen_subcommand_from completion' -a 'help h' -d 'Shows a list of commands or help for one command'
