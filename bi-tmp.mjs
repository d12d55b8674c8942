import * as tf from '@tensorflow/tfjs-core';
const { initBackend } = await import('./dist/main/core/runtime/backend.js');
const { convBackpropInput } = await import('./dist/main/core/kernels/conv-grads.js');
const { BI_BY_GEMM } = await import('./dist/main/core/kernels/conv-input-gemm.js');
await initBackend('wasm');
const med = (t) => t.sort((a,b)=>a-b)[t.length>>1];
for (const [dyS, fS, s, p, inS] of [[[8,16,16,32],[3,3,16,32],2,0,[8,33,33,16]],[[8,8,8,64],[3,3,32,64],2,0,[8,17,17,32]],[[8,4,4,64],[3,3,64,64],2,0,[8,9,9,64]],[[8,32,32,16],[3,3,16,16],1,1,[8,32,32,16]],[[3,4,5,3],[3,3,2,3],2,1,[3,7,10,2]]]) {
  const dy = tf.randomNormal(dyS,0,1,'float32',1), f = tf.randomNormal(fS,0,1,'float32',2);
  const g = {strides:[s,s], pads:[p,p,p,p]};
  const ms = {gemm:[], conv:[]}; let res = {};
  for (let i=0;i<10;i++) for (const path of ['gemm','conv']) {
    BI_BY_GEMM.minStride = path==='gemm' ? 1 : Infinity;
    const c0=process.cpuUsage(); const dx = convBackpropInput(dy,f,g,inS); const d = dx.dataSync(); const u=process.cpuUsage(c0);
    if (i>0) ms[path].push((u.user+u.system)/1000); res[path]=d.slice(); dx.dispose();
  }
  let diff=0, sc=0; for (let i=0;i<res.gemm.length;i++){diff=Math.max(diff,Math.abs(res.gemm[i]-res.conv[i])); sc=Math.max(sc,Math.abs(res.conv[i]));}
  console.log(JSON.stringify(dyS), s, 'gemm', med(ms.gemm).toFixed(2), 'conv', med(ms.conv).toFixed(2), 'ratio', (med(ms.conv)/med(ms.gemm)).toFixed(2), 'diff', diff, sc);
}
