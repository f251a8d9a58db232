export function render(){document.body.textContent='LR Timeline'}
