// Integer multiply-add throughput beside the fp32 FMA peak, measured the
// way ../shared/anchors/fma_peak.c measures it: 12 independent chains per
// thread, and the chains are what the int8 kernels run per vector of
// channels:
//   ymm-int8: VPMADDUBSW (32 u8 x s8 products, pairs summed to int16),
//             VPMADDWD with int16 ones (to int32), VPADDD into the chain's
//             accumulator: 32 int8 MACs per chain step (AVX2);
//   zmm-vnni: VPDPBUSD, 64 int8 MACs per step (AVX512VNNI, where present);
//   ymm-fma:  VFMADD on 8 floats, 8 fp32 MACs per step.
// MAC = one multiply-add; GOPS = 2 x GMAC/s, as the benchmarks report.
//
//   gcc -O2 -mavx2 -mfma -pthread int8_peak.c -o /tmp/int8_peak && /tmp/int8_peak 1 && /tmp/int8_peak 2
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
#define ITERS 50000000L
static volatile int sink;

// Each chain's products read its own accumulator (as bytes), so that the
// chains are independent and nothing can be hoisted or shared: a chain
// step is 7 cycles of latency (3+3+1) and 12 chains cover it at 2 vector
// multiplies per cycle. The barrier keeps the accumulators in registers.
__attribute__((noinline)) static int run_int8(long n){
  __m256i a0=_mm256_setzero_si256(),a1=a0,a2=a0,a3=a0,a4=a0,a5=a0,a6=a0,a7=a0,a8=a0,a9=a0,a10=a0,a11=a0;
  __m256i w=_mm256_set1_epi8(-3),ones=_mm256_set1_epi16(1);
  for(long i=0;i<n;i++){
#define I(acc) acc=_mm256_add_epi32(acc,_mm256_madd_epi16(_mm256_maddubs_epi16(acc,w),ones));
    I(a0)I(a1)I(a2)I(a3)I(a4)I(a5)I(a6)I(a7)I(a8)I(a9)I(a10)I(a11)
    __asm__ volatile("" : "+v"(a0),"+v"(a1),"+v"(a2),"+v"(a3),"+v"(a4),"+v"(a5),"+v"(a6),"+v"(a7),"+v"(a8),"+v"(a9),"+v"(a10),"+v"(a11));
  }
  __m256i s=_mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(a0,a1),_mm256_add_epi32(a2,a3)),_mm256_add_epi32(_mm256_add_epi32(a4,a5),_mm256_add_epi32(a6,a7)));
  s=_mm256_add_epi32(s,_mm256_add_epi32(_mm256_add_epi32(a8,a9),_mm256_add_epi32(a10,a11)));
  return _mm256_extract_epi32(s,0);
}

__attribute__((noinline,target("avx512f,avx512vnni"))) static int run_vnni(long n){
  __m512i a0=_mm512_setzero_si512(),a1=a0,a2=a0,a3=a0,a4=a0,a5=a0,a6=a0,a7=a0,a8=a0,a9=a0,a10=a0,a11=a0;
  __m512i w=_mm512_set1_epi8(-3);
  for(long i=0;i<n;i++){
#undef I
#define I(acc) acc=_mm512_dpbusd_epi32(acc,acc,w);
    I(a0)I(a1)I(a2)I(a3)I(a4)I(a5)I(a6)I(a7)I(a8)I(a9)I(a10)I(a11)
    __asm__ volatile("" : "+v"(a0),"+v"(a1),"+v"(a2),"+v"(a3),"+v"(a4),"+v"(a5),"+v"(a6),"+v"(a7),"+v"(a8),"+v"(a9),"+v"(a10),"+v"(a11));
  }
  __m512i s=_mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0,a1),_mm512_add_epi32(a2,a3)),_mm512_add_epi32(_mm512_add_epi32(a4,a5),_mm512_add_epi32(a6,a7)));
  s=_mm512_add_epi32(s,_mm512_add_epi32(_mm512_add_epi32(a8,a9),_mm512_add_epi32(a10,a11)));
  return _mm512_reduce_add_epi32(s);
}

__attribute__((noinline)) static int run_fma(long n){
  __m256 a0=_mm256_set1_ps(1.0f),a1=a0,a2=a0,a3=a0,a4=a0,a5=a0,a6=a0,a7=a0,a8=a0,a9=a0,a10=a0,a11=a0;
  __m256 b=_mm256_set1_ps(0.9999999f),c=_mm256_set1_ps(1e-7f);
  for(long i=0;i<n;i++){
#undef I
#define I(x) x=_mm256_fmadd_ps(x,b,c);
    I(a0)I(a1)I(a2)I(a3)I(a4)I(a5)I(a6)I(a7)I(a8)I(a9)I(a10)I(a11)
    __asm__ volatile("" : "+v"(a0),"+v"(a1),"+v"(a2),"+v"(a3),"+v"(a4),"+v"(a5),"+v"(a6),"+v"(a7),"+v"(a8),"+v"(a9),"+v"(a10),"+v"(a11));
  }
  __m256 s=_mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0,a1),_mm256_add_ps(a2,a3)),_mm256_add_ps(_mm256_add_ps(a4,a5),_mm256_add_ps(a6,a7)));
  s=_mm256_add_ps(s,_mm256_add_ps(_mm256_add_ps(a8,a9),_mm256_add_ps(a10,a11)));
  float o[8];_mm256_storeu_ps(o,s);return (int)o[0];
}

typedef struct {int kind; double secs;} arg_t;
static const char*names[3]={"ymm-int8 (VPMADDUBSW+VPMADDWD+VPADDD)","zmm-vnni (VPDPBUSD)","ymm-fma (fp32)"};
static const double macs[3]={32,64,8}; // per chain step
static void* worker(void*p){arg_t*a=p;double t=now();
  if(a->kind==0) sink=run_int8(ITERS); else if(a->kind==1) sink=run_vnni(ITERS); else sink=run_fma(ITERS);
  a->secs=now()-t;return 0;}
int main(int argc,char**argv){
  int nth=argc>1?atoi(argv[1]):1;
  int vnni=__builtin_cpu_supports("avx512vnni");
  for(int kind=0;kind<3;kind++){
    if(kind==1&&!vnni) continue;
    pthread_t th[8];arg_t a[8];double t=now();
    for(int i=0;i<nth;i++){a[i].kind=kind;pthread_create(&th[i],0,worker,&a[i]);}
    for(int i=0;i<nth;i++)pthread_join(th[i],0);
    double el=now()-t, mac=macs[kind]*12.0*ITERS*nth;
    printf("threads=%d %s: %.1f GMAC/s total (%.1f per thread), %.1f GOPS\n",nth,names[kind],mac/el/1e9,mac/el/1e9/nth,2*mac/el/1e9);
  }
  return 0;
}
