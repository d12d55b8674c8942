import sharp from 'sharp';
const [a,b]=process.argv.slice(2);
const ra=await sharp(a).raw().toBuffer({resolveWithObject:true});
const rb=await sharp(b).raw().toBuffer({resolveWithObject:true});
let worst=0,n=0;
for(let i=0;i<ra.data.length;i++){const d=Math.abs(ra.data[i]-rb.data[i]); if(d>worst)worst=d; if(d)n++;}
console.log(a, ra.info.width, ra.info.height, 'max', worst, 'differing', n, 'of', ra.data.length);
