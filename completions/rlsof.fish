complete -c rlsof -s i -d 'Select Internet files, optionally by family, protocol, address and ports' -r
complete -c rlsof -s d -d 'Select (or ^exclude) files by descriptor number, range or name (cwd, rtd, txt, mem, DEL, NOFD)' -r
complete -c rlsof -s p -d 'Select (or ^exclude) processes by id' -r
complete -c rlsof -s u -d 'Select (or ^exclude) processes by login name or uid' -r
complete -c rlsof -s c -d 'Select processes whose command starts with PREFIX or matches REGEX (+c N: COMMAND width)' -r
complete -c rlsof -s s -d 'Select TCP (and UDP by number) sockets by state; alone: print sizes' -r
complete -c rlsof -l proc-root -d 'Read DIR instead of /proc (a tree written by rnetstat --capture DIR2, as DIR2/proc)' -r
complete -c rlsof -s g -d 'Show the PGID column; with a list, select those process groups' -r
complete -c rlsof -s o -d 'Show OFFSET instead of SIZE/OFF; -o N: offsets up to N digits as 0t, longer as 0x' -r
complete -c rlsof -s L -d '+L: show the NLINK column; +L N: select files with fewer than N links (+L1: deleted files); -L: no NLINK' -r
complete -c rlsof -s S -d 'Accepted (lsof: kernel function timeout)' -r
complete -c rlsof -s K -d '-K: list threads (TID, TASKCMD) and select their files; -K i: never list threads' -r
complete -c rlsof -s f -d '-f: names are plain files; +f: names are file systems; +fg/+fG: FILE-FLAG column (names/hex)' -r
complete -c rlsof -s x -d 'With +d/+D given after it: the walk crosses into other file systems (f) and follows symbolic links (l); -x alone: both' -r
complete -c rlsof -s e -d 'Accepted for a mounted file system (lsof: exempt from blocking calls)' -r
complete -c rlsof -s m -d '+m: print the mount supplement (each mount point and its device, as lsof writes it) and stop; +m FILE: the devices of mount points that cannot be stat(2)ed (with -b: of every one), as lsof reads them from that file; -m: not supported on Linux' -r
complete -c rlsof -s F -d 'Field output for programs (p c u L f a l t G d D s o i k P n T; e = network namespace, with --all-netns for processes outside ours; 0 = NUL terminators)' -r
complete -c rlsof -s T -d 'TCP/TPI information in NAME: s state (default), q queues; -T alone: none' -r
complete -c rlsof -s r -d 'Repeat every SECONDS (15) with a ======= marker (+r: until nothing is listed)' -r
complete -c rlsof -s h -s ? -d 'Print help'
complete -c rlsof -s v -d 'Print version'
complete -c rlsof -s a -d 'AND the selections (default: OR)'
complete -c rlsof -s n -d 'Don\'t convert addresses to host names'
complete -c rlsof -s P -d 'Don\'t convert port numbers to service names'
complete -c rlsof -s l -d 'Don\'t convert user ids to login names'
complete -c rlsof -s t -d 'Print only process ids, one per line'
complete -c rlsof -s U -d 'Select unix domain socket files'
complete -c rlsof -s w -d 'Suppress warnings (+w enables them)'
complete -c rlsof -s E -d 'Show endpoint information of pipes and sockets (+E: list the endpoints too)'
complete -c rlsof -l json -d 'One JSON document per pass, schema in docs/json.md'
complete -c rlsof -l all-netns -d 'Decode, select (-i, -s) and tag sockets of processes in other network namespaces (lsof: `sock ... protocol: TCP`)'
complete -c rlsof -s R -d 'Show the PPID column'
complete -c rlsof -s N -d 'Select files on NFS'
complete -c rlsof -s X -d 'Leave TCP, UDP and UDP-Lite files out'
complete -c rlsof -s Q -d 'A search item not found is no failure (exit 0)'
complete -c rlsof -s V -d 'Say which search items were not found'
complete -c rlsof -s b -d 'Avoid stat/readlink that may block, as lsof (mount points, names; process files when NFS is mounted)'
complete -c rlsof -s O -d 'Accepted (lsof: no helper process)'
complete -c rlsof -s M -d '+M: name the programs registered with the portmapper (rpcbind) after their TCP and UDP ports, as `sunrpc[portmapper]`; -M: don\'t (default)'
