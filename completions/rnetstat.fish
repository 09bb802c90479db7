complete -c rnetstat -s A -l protocol -d 'Address families, comma separated: inet, inet6, unix' -r
complete -c rnetstat -l proc-root -d 'Read DIR instead of /proc (a captured snapshot or recorded files)' -r -F
complete -c rnetstat -l capture -d 'Write the /proc and /sys files the tools read to DIR (read back with --proc-root DIR/proc)' -r -F
complete -c rnetstat -l queues -d 'Peek the unread receive queue of every selected socket (never consuming it) into queues/receive.PID.FD: with --capture DIR, inside its capture; alone, into a new directory DIR' -r -F
complete -c rnetstat -l queue-cap -d 'With --queues: bytes kept per socket, suffix K, M or G (default 4M)' -r
complete -c rnetstat -l generate -d 'Print a man page or a shell completion script (man, complete-bash, ...)' -r
complete -c rnetstat -l netns -d 'One network namespace: a name from /run/netns, a PID, or a namespace file path' -r
complete -c rnetstat -l color -l colour -d 'Colour states, listening ports and unknown owners (auto: terminals only, not with NO_COLOR)' -r -f -a "auto\t'Colour when stdout is a terminal and NO_COLOR is not set'
always\t''
never\t''"
complete -c rnetstat -s i -l interfaces -d 'Display the kernel interface table (with -e: ifconfig-style blocks)'
complete -c rnetstat -s g -l groups -d 'Display IPv4/IPv6 multicast group memberships (after the socket tables)'
complete -c rnetstat -s a -l all -d 'Display all sockets (default: connected); with -i, interfaces that are down too'
complete -c rnetstat -s l -l listening -d 'Display listening server sockets'
complete -c rnetstat -s t -l tcp -d 'TCP sockets'
complete -c rnetstat -s u -l udp -d 'UDP sockets'
complete -c rnetstat -s U -l udplite -d 'UDP-Lite sockets'
complete -c rnetstat -s w -l raw -d 'Raw sockets'
complete -c rnetstat -s x -l unix -d 'Unix domain sockets'
complete -c rnetstat -s 4 -l inet -d 'IPv4 only (same as -A inet)'
complete -c rnetstat -s 6 -l inet6 -d 'IPv6 only (same as -A inet6)'
complete -c rnetstat -s r -l route -d 'Display the kernel routing table (with -6 or -A inet6: the IPv6 one)'
complete -c rnetstat -l arp -d 'Display the ARP (IPv4 neighbour) table as arp does (-n: as arp -n)'
complete -c rnetstat -s C -l cache -d 'With -r: display the routing cache instead of the FIB'
complete -c rnetstat -s F -l fib -d 'With -r: display the Forwarding Information Base (the default)'
complete -c rnetstat -s p -l programs -d 'Show the PID and name of the program owning each socket'
complete -c rnetstat -s n -l numeric -d 'Don\'t resolve names (hosts, ports, users)'
complete -c rnetstat -l numeric-hosts -d 'Don\'t resolve host names'
complete -c rnetstat -l numeric-ports -d 'Don\'t resolve port names'
complete -c rnetstat -l numeric-users -d 'Don\'t resolve user names'
complete -c rnetstat -s N -l symbolic -d 'Resolve hardware names; with -r it turns host names off, as in netstat'
complete -c rnetstat -s e -l extend -d 'Display other/more information (User and Inode); twice for more'
complete -c rnetstat -s o -l timers -d 'Display timers'
complete -c rnetstat -s W -l wide -l notrim -d 'Don\'t truncate IP addresses'
complete -c rnetstat -s c -l continuous -d 'Continuous listing, every DELAY seconds (default 1)'
complete -c rnetstat -s v -l verbose -d 'Be verbose (report unsupported address families)'
complete -c rnetstat -s s -l statistics -d 'Display protocol statistics (with -t, -u, -w: only those protocols)'
complete -c rnetstat -l audit -d 'Look for hidden and suspicious sockets, sniffers, ARP spoofing (exit 0 clean, 1 findings, 2 failed)'
complete -c rnetstat -l no-probe -d 'With --audit: skip the bind() probe of every port'
complete -c rnetstat -l all-netns -d 'Every network namespace (of every process and /run/netns), each row tagged'
complete -c rnetstat -l json -d 'One JSON document per run (per refresh with -c), schema in docs/json.md'
complete -c rnetstat -s h -l help -d 'Print help'
complete -c rnetstat -s V -l version -d 'Print version'
