// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark sender: UDP SIP OPTIONS from many source addresses (raw socket, IP_HDRINCL,
// sendmmsg), as fast as possible for a given time. Documentation addresses only.
//   udpflood DST_IP DST_PORT SECONDS SOURCES
// Sources cycle through 198.51.100.2.. and 203.0.113.2.. (SOURCES of them, at most 500).
// Prints "sent N pps P".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: udpflood DST_IP DST_PORT SECONDS SOURCES\n");
        return 2;
    }
    in_addr_t dst = inet_addr(argv[1]);
    int port = atoi(argv[2]);
    double secs = atof(argv[3]);
    int nsrc = atoi(argv[4]);
    if (nsrc < 1) nsrc = 1;
    if (nsrc > 500) nsrc = 500;
    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) { perror("socket"); return 1; }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
    const char* sip =
        "OPTIONS sip:flood@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bK-flood\r\n"
        "From: <sip:flood@198.51.100.2>;tag=1\r\nTo: <sip:flood@192.0.2.1>\r\nCall-ID: flood@198.51.100.2\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    size_t plen = strlen(sip), len = sizeof(struct iphdr) + sizeof(struct udphdr) + plen;
    static char pkt[BATCH][1500];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = dst};
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; ++i) {
        struct iphdr* ip = (struct iphdr*)pkt[i];
        struct udphdr* udp = (struct udphdr*)(ip + 1);
        ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = IPPROTO_UDP;
        ip->tot_len = htons(len), ip->daddr = dst;
        udp->dest = htons(port), udp->len = htons(sizeof *udp + plen), udp->check = 0;
        memcpy(udp + 1, sip, plen);
        iov[i].iov_base = pkt[i], iov[i].iov_len = len;
        msgs[i].msg_hdr.msg_iov = &iov[i], msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &to, msgs[i].msg_hdr.msg_namelen = sizeof to;
    }
    unsigned long sent = 0, k = 0;
    double t0 = now(), end = t0 + secs, t = t0;
    while (t < end) {
        for (int i = 0; i < BATCH; ++i, ++k) {
            struct iphdr* ip = (struct iphdr*)pkt[i];
            struct udphdr* udp = (struct udphdr*)(ip + 1);
            int s = (int)(k % nsrc);
            // half in 198.51.100.0/24, half in 203.0.113.0/24, never .0/.1/.255
            unsigned host = 2 + (s / 2) % 250;
            ip->saddr = htonl((s % 2 ? 0xCB007100u : 0xC6336400u) | host);
            ip->id = htons((uint16_t)k);
            udp->source = htons(20000 + (k % 20000));
        }
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n > 0) sent += n;
        t = now();
    }
    printf("sent %lu pps %.0f\n", sent, sent / (t - t0));
    return 0;
}
