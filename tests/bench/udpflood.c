// SPDX-License-Identifier: GPL-2.0-or-later
// Benchmark and test sender: UDP SIP OPTIONS from many source addresses (raw socket with
// the IP header included, sendmmsg), as fast as possible for a given time. Documentation
// addresses only.
//   udpflood DST_IP DST_PORT SECONDS SOURCES [ports|fixed]
// IPv4 (DST_IP without ':'): sources cycle through 198.51.100.2.. and 203.0.113.2..
// (SOURCES of them, at most 500). IPv6: source s (0 <= s < SOURCES, at most 1,000,000) is
// 2001:db8:HHHH:LLLL::2 with HHHH = 0x8000 + s / 65536 and LLLL = s % 65536: one /64 each,
// all inside 2001:db8:8000::/44. Mode "ports" (default): the source port changes with every
// packet (20000-39999), so about every packet is a new flow; "fixed": each source keeps one
// source port, so one source is one flow.
// Prints "sent N pps P".
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <stdint.h>
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

// One's complement sum of big-endian 16-bit words (an odd last byte padded with zero).
static uint32_t sum16(const uint8_t* p, size_t n) {
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1) s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

int main(int argc, char** argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: udpflood DST_IP DST_PORT SECONDS SOURCES [ports|fixed]\n");
        return 2;
    }
    int v6 = strchr(argv[1], ':') != NULL;
    int port = atoi(argv[2]);
    double secs = atof(argv[3]);
    int nsrc = atoi(argv[4]);
    int fixed = 0;
    if (argc == 6) {
        if (!strcmp(argv[5], "fixed")) fixed = 1;
        else if (strcmp(argv[5], "ports")) {
            fprintf(stderr, "udpflood: mode is ports or fixed, not %s\n", argv[5]);
            return 2;
        }
    }
    if (nsrc < 1) nsrc = 1;
    if (nsrc > (v6 ? 1000000 : 500)) nsrc = v6 ? 1000000 : 500;
    struct sockaddr_in to4 = {.sin_family = AF_INET};
    struct sockaddr_in6 to6 = {.sin6_family = AF_INET6};
    if (v6 ? inet_pton(AF_INET6, argv[1], &to6.sin6_addr) != 1 : inet_pton(AF_INET, argv[1], &to4.sin_addr) != 1) {
        fprintf(stderr, "udpflood: bad address %s\n", argv[1]);
        return 2;
    }
    // IPPROTO_RAW: the header is ours (IP_HDRINCL for IPv4, implied for IPv6).
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (fd < 0) { perror("socket"); return 1; }
    int one = 1;
    if (!v6) setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
    const char* sip =
        "OPTIONS sip:flood@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.2:5060;branch=z9hG4bK-flood\r\n"
        "From: <sip:flood@198.51.100.2>;tag=1\r\nTo: <sip:flood@192.0.2.1>\r\nCall-ID: flood@198.51.100.2\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    size_t plen = strlen(sip), hlen = v6 ? sizeof(struct ip6_hdr) : sizeof(struct iphdr);
    size_t ulen = sizeof(struct udphdr) + plen, len = hlen + ulen;
    static char pkt[BATCH][1500];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; ++i) {
        struct udphdr* udp = (struct udphdr*)(pkt[i] + hlen);
        if (v6) {
            struct ip6_hdr* ip6 = (struct ip6_hdr*)pkt[i];
            ip6->ip6_flow = htonl(6u << 28), ip6->ip6_plen = htons(ulen);
            ip6->ip6_nxt = IPPROTO_UDP, ip6->ip6_hlim = 64;
            inet_pton(AF_INET6, "2001:db8::2", &ip6->ip6_src);  // groups 3 and 4 set per packet
            ip6->ip6_dst = to6.sin6_addr;
        } else {
            struct iphdr* ip = (struct iphdr*)pkt[i];
            ip->version = 4, ip->ihl = 5, ip->ttl = 64, ip->protocol = IPPROTO_UDP;
            ip->tot_len = htons(len), ip->daddr = to4.sin_addr.s_addr;
        }
        udp->dest = htons(port), udp->len = htons(ulen), udp->check = 0;
        memcpy(udp + 1, sip, plen);
        iov[i].iov_base = pkt[i], iov[i].iov_len = len;
        msgs[i].msg_hdr.msg_iov = &iov[i], msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = v6 ? (void*)&to6 : (void*)&to4;
        msgs[i].msg_hdr.msg_namelen = v6 ? sizeof to6 : sizeof to4;
    }
    // IPv6 UDP checksum (mandatory): pseudo-header (destination, length, next header) and
    // the UDP header and payload without the source port, summed once; the source address
    // and port are added per packet.
    uint32_t base = 0;
    if (v6) {
        const uint8_t* u = (const uint8_t*)(pkt[0] + hlen);
        base = sum16(to6.sin6_addr.s6_addr, 16) + (uint32_t)ulen + IPPROTO_UDP + sum16(u + 2, ulen - 2);
    }
    unsigned long sent = 0, k = 0;
    double t0 = now(), end = t0 + secs, t = t0;
    while (t < end) {
        for (int i = 0; i < BATCH; ++i, ++k) {
            struct udphdr* udp = (struct udphdr*)(pkt[i] + hlen);
            unsigned s = (unsigned)(k % nsrc);
            unsigned sport;
            if (v6) {
                struct ip6_hdr* ip6 = (struct ip6_hdr*)pkt[i];
                uint8_t* a = ip6->ip6_src.s6_addr;
                unsigned hi = 0x8000 + s / 65536, lo = s % 65536;
                a[4] = hi >> 8, a[5] = hi & 0xff, a[6] = lo >> 8, a[7] = lo & 0xff;
                sport = fixed ? 1024 + s % 60000 : 20000 + k % 20000;
                udp->source = htons(sport);
                uint16_t c = (uint16_t)~fold(base + sum16(a, 16) + sport);
                udp->check = htons(c ? c : 0xffff);
            } else {
                struct iphdr* ip = (struct iphdr*)pkt[i];
                // half in 198.51.100.0/24, half in 203.0.113.0/24, never .0/.1/.255
                unsigned host = 2 + (s / 2) % 250;
                ip->saddr = htonl((s % 2 ? 0xCB007100u : 0xC6336400u) | host);
                ip->id = htons((uint16_t)k);
                udp->source = htons(fixed ? 20000 + s : 20000 + k % 20000);
            }
        }
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n > 0) sent += n;
        t = now();
    }
    printf("sent %lu pps %.0f\n", sent, sent / (t - t0));
    return 0;
}
